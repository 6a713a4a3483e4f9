import { API_VERSION, COMPLETION, QUESTION, NEVER_FITS_MAX_TOKENS, REFUSED_MAX_TOKENS, SIM, expectNeverFits, expectRetryAfterHonoured, STRUCTURED, TOOLS, ANTHROPIC_TOOL, expectRefusal, startClientGateway, type ClientGateway } from '../support/client-gateway.js';
import { ChatAnthropic } from '@langchain/anthropic';
import { AIMessage, HumanMessage, ToolMessage, type AIMessageChunk } from '@langchain/core/messages';
import { AzureChatOpenAI, AzureOpenAIEmbeddings, ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_current_weather',
    description: 'the current weather',
    parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
  },
};
const citySchema = {
  title: 'city',
  type: 'object',
  properties: { city: { type: 'string' }, units: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'units'],
  additionalProperties: false,
};

/** The text of a LangChain message, whatever shape its content takes. */
const textOf = (m: AIMessage | AIMessageChunk): string =>
  typeof m.content === 'string' ? m.content : m.content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');

/**
 * LangChain (@langchain/core with @langchain/openai and @langchain/anthropic), unchanged, through
 * Tollgate. Tracing is off (LANGCHAIN_TRACING_V2 / LANGSMITH_TRACING false, set by the harness).
 */
describe('LangChain', () => {
  let tg: ClientGateway;
  const chatOpenAI = (apiKey: string, more: Partial<ConstructorParameters<typeof ChatOpenAI>[0]> = {}) =>
    new ChatOpenAI({ model: SIM, apiKey, configuration: { baseURL: `${tg.url}/openai/v1` }, maxRetries: 0, maxTokens: 50, ...more });
  const azureChat = (apiKey: string, more: Partial<ConstructorParameters<typeof AzureChatOpenAI>[0]> = {}) =>
    new AzureChatOpenAI({
      azureOpenAIApiKey: apiKey,
      azureOpenAIBasePath: `${tg.url}/openai/deployments`,
      azureOpenAIApiDeploymentName: SIM,
      azureOpenAIApiVersion: API_VERSION,
      maxRetries: 0,
      maxTokens: 50,
      ...more,
    });
  const chatAnthropic = (apiKey: string, model = SIM) => new ChatAnthropic({ model, apiKey, anthropicApiUrl: `${tg.url}/anthropic`, maxRetries: 0, maxTokens: 100 });

  beforeAll(async () => {
    tg = await startClientGateway();
  });
  afterAll(() => tg.close());

  const chats: Array<[string, () => ChatOpenAI | AzureChatOpenAI | ChatAnthropic]> = [
    ['ChatOpenAI', () => chatOpenAI(tg.key)],
    ['ChatOpenAI with the Responses API', () => chatOpenAI(tg.key, { useResponsesApi: true })],
    ['AzureChatOpenAI', () => azureChat(tg.key)],
    ['ChatAnthropic', () => chatAnthropic(tg.key)],
  ];
  for (const [name, make] of chats) {
    it(`${name}: invoke and stream`, async () => {
      const reply = await make().invoke([new HumanMessage(QUESTION)]);
      expect(textOf(reply)).toMatch(/^Hello/);
      expect(reply.usage_metadata?.output_tokens).toBe(COMPLETION);
      let text = '';
      for await (const chunk of await make().stream([new HumanMessage(QUESTION)])) text += textOf(chunk);
      expect(text).toBe(textOf(reply));
    });
  }

  // AzureChatOpenAI with the Responses API posts to /openai/deployments/{d}/responses.
  it('AzureChatOpenAI with the Responses API', async () => {
    const reply = await azureChat(tg.key, { useResponsesApi: true }).invoke([new HumanMessage(QUESTION)]);
    expect(textOf(reply)).toMatch(/^Hello/);
  });

  it('ChatOpenAI tools: a recorded tool call, then the tool result sent back', async () => {
    const question = new HumanMessage('Weather in Boston?');
    const call = await chatOpenAI(tg.key, { model: TOOLS }).bindTools([weatherTool]).invoke([question]);
    expect(call.tool_calls?.[0]).toMatchObject({ name: 'get_current_weather', args: { location: 'Boston, MA', unit: 'fahrenheit' } });
    const answer = await chatOpenAI(tg.key)
      .bindTools([weatherTool])
      .invoke([question, call, new ToolMessage({ tool_call_id: call.tool_calls![0]!.id!, content: '{"temperature":72}' })]);
    expect(textOf(answer)).toMatch(/^Hello/);
  });

  it('ChatAnthropic tools: a recorded tool_use, then the tool_result sent back', async () => {
    const question = new HumanMessage('Use test_tool with "test".');
    const testTool = { name: 'test_tool', description: 'echoes', input_schema: { type: 'object' as const, properties: { value: { type: 'string' } } } };
    const call = await chatAnthropic(tg.key, ANTHROPIC_TOOL).bindTools([testTool]).invoke([question]);
    expect(call.tool_calls?.[0]).toMatchObject({ name: 'test_tool', args: { value: 'test' } });
    const answer = await chatAnthropic(tg.key)
      .bindTools([testTool])
      .invoke([question, new AIMessage({ content: call.content, tool_calls: call.tool_calls! }), new ToolMessage({ tool_call_id: call.tool_calls![0]!.id!, content: 'done' })]);
    expect(textOf(answer).length).toBeGreaterThan(0);
  });

  it('structured output (json_schema): withStructuredOutput', async () => {
    const model = chatOpenAI(tg.key, { model: STRUCTURED }).withStructuredOutput(citySchema, { method: 'jsonSchema' });
    expect(await model.invoke([new HumanMessage('Which city?')])).toEqual({ city: 'San Francisco', units: 'c' });
  });

  it('embeddings: OpenAIEmbeddings and AzureOpenAIEmbeddings', async () => {
    const openai = new OpenAIEmbeddings({ model: SIM, apiKey: tg.key, configuration: { baseURL: `${tg.url}/openai/v1` }, maxRetries: 0 });
    const azure = new AzureOpenAIEmbeddings({
      azureOpenAIApiKey: tg.key,
      azureOpenAIBasePath: `${tg.url}/openai/deployments`,
      azureOpenAIApiDeploymentName: SIM,
      azureOpenAIApiVersion: API_VERSION,
      maxRetries: 0,
    });
    for (const embeddings of [openai, azure]) {
      const vectors = await embeddings.embedDocuments(['one', 'two']);
      expect(vectors).toHaveLength(2);
      expect(vectors[0]!.length).toBeGreaterThan(0);
    }
  });

  it('429: ChatOpenAI, AzureChatOpenAI and ChatAnthropic surface the rate limit, sent once', async () => {
    for (const make of [(key: string) => chatOpenAI(key, { maxTokens: REFUSED_MAX_TOKENS }), (key: string) => azureChat(key, { maxTokens: REFUSED_MAX_TOKENS }), (key: string) => chatAnthropic(key)]) {
      const limited = await tg.rateLimited();
      const error = await make(limited.key)
        .invoke([new HumanMessage(QUESTION)])
        .catch((e: unknown) => e);
      expectRefusal(error, 429, (error as { headers?: Headers }).headers);
      expect((error as { lc_error_code?: string }).lc_error_code).toBe('MODEL_RATE_LIMIT');
      expect(await limited.attempts()).toBe(1);
    }
  });

  it('429 with one retry allowed: ChatOpenAI and ChatAnthropic wait Retry-After, then succeed', async () => {
    await expectRetryAfterHonoured(tg, (key) => chatOpenAI(key, { maxTokens: REFUSED_MAX_TOKENS, maxRetries: 1 }).invoke([new HumanMessage(QUESTION)]));
    await expectRetryAfterHonoured(tg, (key) =>
      new ChatAnthropic({ model: SIM, apiKey: key, anthropicApiUrl: `${tg.url}/anthropic`, maxRetries: 1, maxTokens: REFUSED_MAX_TOKENS }).invoke([new HumanMessage(QUESTION)]),
    );
  });

  it('429 that can never succeed: x-should-retry false, not retried with maxRetries 1', async () => {
    for (const make of [(key: string) => chatOpenAI(key, { maxTokens: NEVER_FITS_MAX_TOKENS, maxRetries: 1 }), (key: string) => new ChatAnthropic({ model: SIM, apiKey: key, anthropicApiUrl: `${tg.url}/anthropic`, maxRetries: 1, maxTokens: NEVER_FITS_MAX_TOKENS })]) {
      const limited = await tg.neverFits();
      const error = await make(limited.key)
        .invoke([new HumanMessage(QUESTION)])
        .catch((e: unknown) => e);
      expectNeverFits(error, (error as { headers?: Headers }).headers);
      expect(await limited.attempts()).toBe(1);
    }
  });

  it('403: a spent quota surfaces as an error, not retried', async () => {
    for (const make of [(key: string) => chatOpenAI(key, { maxTokens: REFUSED_MAX_TOKENS, maxRetries: 2 }), (key: string) => chatAnthropic(key)]) {
      const spent = await tg.quotaSpent();
      const error = await make(spent.key)
        .invoke([new HumanMessage(QUESTION)])
        .catch((e: unknown) => e);
      expectRefusal(error, 403, (error as { headers?: Headers }).headers);
      expect(await spent.attempts()).toBe(1);
    }
  });
});
