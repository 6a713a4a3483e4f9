import { API_VERSION, COMPLETION, QUESTION, NEVER_FITS_MAX_TOKENS, REFUSED_MAX_TOKENS, SIM, expectNeverFits, expectRetryAfterHonoured, STRUCTURED, TOOLS, expectRefusal, startClientGateway, type ClientGateway } from '../support/client-gateway.js';
import OpenAI, { APIError, AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: QUESTION }];
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_current_weather',
    parameters: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
  },
};
const citySchema = {
  type: 'json_schema' as const,
  json_schema: {
    name: 'city',
    strict: true,
    schema: { type: 'object', properties: { city: { type: 'string' }, units: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'units'], additionalProperties: false },
  },
};

/**
 * The openai SDK's two clients, unchanged, through Tollgate: OpenAI (`/openai/v1`) and AzureOpenAI
 * (`/openai/deployments/{d}`). The simulated model answers; tool calls and structured output come
 * from real recordings, since the simulated model only writes text.
 */
describe.each([
  ['OpenAI', (url: string, apiKey: string) => new OpenAI({ baseURL: `${url}/openai/v1`, apiKey, maxRetries: 0 })],
  ['AzureOpenAI', (url: string, apiKey: string) => new AzureOpenAI({ endpoint: url, apiKey, apiVersion: API_VERSION, maxRetries: 0 })],
] as const)('openai SDK %s', (name, connect) => {
  let tg: ClientGateway;
  let client: OpenAI;
  const azure = name === 'AzureOpenAI';

  beforeAll(async () => {
    tg = await startClientGateway();
    client = connect(tg.url, tg.key);
  });
  afterAll(() => tg.close());

  it('chat', async () => {
    const res = await client.chat.completions.create({ model: SIM, messages });
    expect(res.choices[0]!.message.content).toMatch(/^Hello/);
    expect(res.usage?.completion_tokens).toBe(COMPLETION);
  });

  it('stream, with usage asked for', async () => {
    const stream = await client.chat.completions.create({ model: SIM, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toMatch(/^Hello/);
    expect(usage?.completion_tokens).toBe(COMPLETION);
  });

  it('tools: a recorded tool call, then the tool result sent back', async () => {
    const first = await client.chat.completions.create({ model: TOOLS, messages: [{ role: 'user', content: 'Weather in Boston?' }], tools: [weatherTool] });
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') return;
    expect(call.function.name).toBe('get_current_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ location: 'Boston, MA', unit: 'fahrenheit' });
    // The round trip's second leg: the assistant's tool call and the tool's answer, to a model that writes text.
    const second = await client.chat.completions.create({
      model: SIM,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Boston?' },
        first.choices[0]!.message as OpenAI.ChatCompletionAssistantMessageParam,
        { role: 'tool', tool_call_id: call.id, content: '{"temperature":72}' },
      ],
    });
    expect(second.choices[0]!.message.content).toMatch(/^Hello/);
  });

  it('structured output (json_schema), parsed by the SDK', async () => {
    const res = await client.chat.completions.parse({ model: STRUCTURED, messages, response_format: citySchema });
    expect(res.choices[0]!.message.parsed).toEqual({ city: 'San Francisco', units: 'c' });
  });

  // AzureOpenAI posts to /openai/responses?api-version=….
  it('Responses, plain and streamed', async () => {
    const response = await client.responses.create({ model: SIM, input: QUESTION, max_output_tokens: 50 });
    expect(response.output_text).toMatch(/^Hello/);
    expect(response.usage?.output_tokens).toBe(COMPLETION);
    const events: string[] = [];
    for await (const event of await client.responses.create({ model: SIM, input: QUESTION, stream: true })) events.push(event.type);
    expect(events.at(-1)).toBe('response.completed');
  });

  it('embeddings', async () => {
    const res = await client.embeddings.create({ model: SIM, input: ['one', 'two'] });
    expect(res.data.map((d) => d.index)).toEqual([0, 1]);
    expect(res.data[0]!.embedding.length).toBeGreaterThan(0);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it('429: a RateLimitError with Retry-After, sent once', async () => {
    const limited = await tg.rateLimited();
    const error = await connect(tg.url, limited.key)
      .chat.completions.create({ model: SIM, messages, max_tokens: REFUSED_MAX_TOKENS })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as APIError).code).toBe('token_rate_limit_exceeded');
    expectRefusal(error, 429, (error as APIError).headers);
    expect(await limited.attempts()).toBe(1);
  });

  it('429 with one retry allowed: the SDK waits Retry-After, then succeeds', async () => {
    await expectRetryAfterHonoured(tg, (apiKey) => {
      const retrying = azure
        ? new AzureOpenAI({ endpoint: tg.url, apiKey, apiVersion: API_VERSION, maxRetries: 1 })
        : new OpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey, maxRetries: 1 });
      return retrying.chat.completions.create({ model: SIM, messages, max_tokens: REFUSED_MAX_TOKENS });
    });
  });

  it('429 that can never succeed: x-should-retry false, not retried even with maxRetries 2', async () => {
    const limited = await tg.neverFits();
    const retrying = azure
      ? new AzureOpenAI({ endpoint: tg.url, apiKey: limited.key, apiVersion: API_VERSION, maxRetries: 2 })
      : new OpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey: limited.key, maxRetries: 2 });
    const error = await retrying.chat.completions.create({ model: SIM, messages, max_tokens: NEVER_FITS_MAX_TOKENS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expectNeverFits(error, (error as APIError).headers);
    expect(await limited.attempts()).toBe(1);
  });

  it('403: a spent quota is a PermissionDeniedError, not retried', async () => {
    const spent = await tg.quotaSpent();
    const error = await connect(tg.url, spent.key)
      .chat.completions.create({ model: SIM, messages, max_tokens: REFUSED_MAX_TOKENS })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as APIError).code).toBe('token_quota_exceeded');
    expectRefusal(error, 403, (error as APIError).headers);
    expect(await spent.attempts()).toBe(1);
  });
});
