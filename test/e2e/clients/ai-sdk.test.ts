import { API_VERSION, COMPLETION, QUESTION, NEVER_FITS_MAX_TOKENS, REFUSED_MAX_TOKENS, SIM, expectNeverFits, expectRetryAfterHonoured, STRUCTURED, TOOLS, expectRefusal, startClientGateway, type ClientGateway } from '../support/client-gateway.js';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createAzure } from '@ai-sdk/azure';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, embedMany, generateObject, generateText, jsonSchema, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const weather = tool({
  description: 'the current weather',
  inputSchema: jsonSchema<{ location: string; unit?: string }>({
    type: 'object',
    properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['location'],
  }),
  execute: async ({ location }) => ({ location, temperature: 72 }),
});
const city = jsonSchema<{ city: string; units: 'c' | 'f' }>({
  type: 'object',
  properties: { city: { type: 'string' }, units: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'units'],
  additionalProperties: false,
});

/** Catches what a call throws: the AI SDK's APICallError (maxRetries 0: never wrapped in a RetryError). */
async function refused(run: () => Promise<unknown>): Promise<APICallError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(APICallError.isInstance(error), String(error)).toBe(true);
  return error as APICallError;
}

/**
 * The Vercel AI SDK (`ai`) with its openai, azure, anthropic and openai-compatible providers,
 * unchanged, through Tollgate. Telemetry is off by default (experimental_telemetry unset).
 */
describe('Vercel AI SDK', () => {
  let tg: ClientGateway;
  const providers = (apiKey: string) => ({
    openai: createOpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey }),
    // For a host that is not *.openai.azure.com, @ai-sdk/azure posts to `{baseURL}{path}` with no api-version.
    azure: createAzure({ baseURL: `${tg.url}/openai/v1`, apiKey, apiVersion: API_VERSION }),
    azureAtOpenAI: createAzure({ baseURL: `${tg.url}/openai`, apiKey, apiVersion: API_VERSION }),
    azureByDeployment: createAzure({ baseURL: `${tg.url}/openai`, apiKey, apiVersion: API_VERSION, useDeploymentBasedUrls: true }),
    anthropic: createAnthropic({ baseURL: `${tg.url}/anthropic/v1`, apiKey }),
    compatible: createOpenAICompatible({ name: 'tollgate', baseURL: `${tg.url}/openai/v1`, apiKey, includeUsage: true }),
  });
  let p: ReturnType<typeof providers>;

  beforeAll(async () => {
    tg = await startClientGateway();
    p = providers(tg.key);
  });
  afterAll(() => tg.close());

  const models: Array<[string, () => LanguageModel]> = [
    ['@ai-sdk/openai chat', () => p.openai.chat(SIM)],
    ['@ai-sdk/openai Responses (its default model)', () => p.openai(SIM)],
    ['@ai-sdk/azure chat (baseURL /openai/v1)', () => p.azure.chat(SIM)],
    ['@ai-sdk/azure Responses (its default model, baseURL /openai/v1)', () => p.azure(SIM)],
    ['@ai-sdk/azure chat (deployment URLs)', () => p.azureByDeployment.chat(SIM)],
    ['@ai-sdk/anthropic', () => p.anthropic(SIM)],
    ['@ai-sdk/openai-compatible chat', () => p.compatible.chatModel(SIM)],
  ];

  for (const [name, model] of models) {
    it(`${name}: generateText and streamText`, async () => {
      const res = await generateText({ model: model(), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
      expect(res.text).toMatch(/^Hello/);
      expect(res.usage.outputTokens).toBe(COMPLETION);
      const stream = streamText({ model: model(), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
      let text = '';
      for await (const delta of stream.textStream) text += delta;
      expect(text).toBe(res.text);
      expect((await stream.usage).outputTokens).toBe(COMPLETION);
    });
  }

  // With deployment URLs, @ai-sdk/azure's Responses model posts to /openai/deployments/{d}/responses.
  it('@ai-sdk/azure Responses (deployment URLs)', async () => {
    const res = await generateText({ model: p.azureByDeployment(SIM), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
    expect(res.text).toMatch(/^Hello/);
  });

  // With the Azure-style baseURL `{gateway}/openai`, @ai-sdk/azure posts to /openai/chat/completions and
  // /openai/responses — with no api-version to a host that is not Azure's: the routes must not need one.
  it('@ai-sdk/azure chat (baseURL /openai)', async () => {
    const res = await generateText({ model: p.azureAtOpenAI.chat(SIM), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
    expect(res.text).toMatch(/^Hello/);
  });

  it('@ai-sdk/azure Responses (its default model, baseURL /openai)', async () => {
    const res = await generateText({ model: p.azureAtOpenAI(SIM), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
    expect(res.text).toMatch(/^Hello/);
  });

  it('@ai-sdk/openai-compatible completions', async () => {
    const res = await generateText({ model: p.compatible.completionModel(SIM), prompt: QUESTION, maxOutputTokens: 50, maxRetries: 0 });
    expect(res.text).toMatch(/^Hello/);
  });

  it('tools: a recorded tool call, executed, and its result sent back (two steps)', async () => {
    const res = await generateText({
      model: p.openai.chat(TOOLS),
      prompt: 'Weather in Boston?',
      tools: { get_current_weather: weather },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    expect(res.steps[0]!.toolCalls[0]).toMatchObject({ toolName: 'get_current_weather', input: { location: 'Boston, MA', unit: 'fahrenheit' } });
    expect(res.steps[0]!.toolResults[0]).toMatchObject({ output: { location: 'Boston, MA', temperature: 72 } });
    expect(res.steps).toHaveLength(2); // the second request carried the tool result, and was answered
  });

  it('structured output (json_schema): generateObject', async () => {
    const res = await generateObject({ model: p.openai.chat(STRUCTURED), schema: city, prompt: 'Which city?', maxRetries: 0 });
    expect(res.object).toEqual({ city: 'San Francisco', units: 'c' });
  });

  it('embeddings: @ai-sdk/openai, @ai-sdk/azure and @ai-sdk/openai-compatible', async () => {
    for (const model of [p.openai.embedding(SIM), p.azureByDeployment.embedding(SIM), p.compatible.textEmbeddingModel(SIM)]) {
      const res = await embedMany({ model, values: ['one', 'two'], maxRetries: 0 });
      expect(res.embeddings).toHaveLength(2);
      expect(res.embeddings[0]!.length).toBeGreaterThan(0);
    }
  });

  it('429: every provider surfaces an APICallError with Retry-After, sent once', async () => {
    for (const make of [(q: ReturnType<typeof providers>) => q.openai.chat(SIM), (q: ReturnType<typeof providers>) => q.anthropic(SIM)]) {
      const limited = await tg.rateLimited();
      const error = await refused(() => generateText({ model: make(providers(limited.key)), prompt: QUESTION, maxOutputTokens: REFUSED_MAX_TOKENS, maxRetries: 0 }));
      expectRefusal(error, 429, error.responseHeaders);
      expect(error.isRetryable).toBe(true);
      expect(await limited.attempts()).toBe(1);
    }
  });

  it('429 with one retry allowed: generateText waits Retry-After (retry-after-ms), then succeeds', async () => {
    for (const make of [(q: ReturnType<typeof providers>) => q.openai.chat(SIM), (q: ReturnType<typeof providers>) => q.anthropic(SIM)]) {
      await expectRetryAfterHonoured(tg, (apiKey) => generateText({ model: make(providers(apiKey)), prompt: QUESTION, maxOutputTokens: REFUSED_MAX_TOKENS, maxRetries: 1 }));
    }
  });

  // The AI SDK 6 ignores `x-should-retry: false` (its retry decision reads only the status and
  // Retry-After): with maxRetries 1 it sends a request that can never fit twice, 2 s apart. Not a
  // gateway bug (Tollgate says it will never fit); AI SDK users should keep max tokens within the limit.
  it('429 that can never succeed: x-should-retry false, which the AI SDK does not read (maxRetries 1: sent twice)', async () => {
    const limited = await tg.neverFits();
    const error = await generateText({ model: providers(limited.key).anthropic(SIM), prompt: QUESTION, maxOutputTokens: NEVER_FITS_MAX_TOKENS, maxRetries: 1 }).catch((e: unknown) => e);
    const last = APICallError.isInstance(error) ? error : ((error as { lastError?: unknown }).lastError as APICallError);
    expectNeverFits(last, last.responseHeaders);
    expect(await limited.attempts()).toBe(2);
  });

  it('403: a spent quota is an APICallError that is not retryable', async () => {
    const spent = await tg.quotaSpent();
    const error = await refused(() => generateText({ model: providers(spent.key).openai.chat(SIM), prompt: QUESTION, maxOutputTokens: REFUSED_MAX_TOKENS, maxRetries: 2 }));
    expectRefusal(error, 403, error.responseHeaders);
    expect(error.isRetryable).toBe(false);
    expect(await spent.attempts()).toBe(1);
  });
});
