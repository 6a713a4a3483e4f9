import { COMPLETION, QUESTION, NEVER_FITS_MAX_TOKENS, REFUSED_MAX_TOKENS, SIM, expectNeverFits, expectRetryAfterHonoured, STRUCTURED, TOOLS, expectRefusal, startClientGateway, type ClientGateway } from '../support/client-gateway.js';
import { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, run, setTracingDisabled, tool, type Model } from '@openai/agents';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The Agents SDK exports traces to OpenAI by default: off (OPENAI_AGENTS_DISABLE_TRACING=1 is set too).
setTracingDisabled(true);

const weather = tool({
  name: 'get_current_weather',
  description: 'the current weather',
  parameters: {
    type: 'object' as const,
    properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['location', 'unit'],
    additionalProperties: false as const,
  },
  execute: async (input) => `72 degrees in ${(input as { location: string }).location}`,
});

/** The OpenAI Agents SDK (@openai/agents), with an `openai` client pointed at Tollgate. */
describe('OpenAI Agents SDK', () => {
  let tg: ClientGateway;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    tg = await startClientGateway();
  });
  afterAll(() => tg.close());

  const models: Array<[string, (apiKey: string, model?: string) => Model]> = [
    ['Chat Completions model', (apiKey, model = SIM) => new OpenAIChatCompletionsModel(client(apiKey), model)],
    ['Responses model', (apiKey, model = SIM) => new OpenAIResponsesModel(client(apiKey), model)],
  ];
  for (const [name, model] of models) {
    it(`${name}: run and streamed run`, async () => {
      const agent = new Agent({ name: 'greeter', instructions: 'Greet.', model: model(tg.key), modelSettings: { maxTokens: 50 } });
      const result = await run(agent, QUESTION);
      expect(result.finalOutput).toMatch(/^Hello/);
      expect(result.state.usage.outputTokens).toBe(COMPLETION);
      const streamed = await run(agent, QUESTION, { stream: true });
      let text = '';
      for await (const delta of streamed.toTextStream()) text += delta;
      await streamed.completed;
      expect(text).toBe(result.finalOutput);
    });
  }

  it('tools: a recorded tool call, executed by the agent', async () => {
    const agent = new Agent({ name: 'weather', instructions: 'Use the tool.', model: models[0]![1](tg.key, TOOLS), tools: [weather], toolUseBehavior: 'stop_on_first_tool' });
    const result = await run(agent, 'Weather in Boston?');
    expect(result.finalOutput).toBe('72 degrees in Boston, MA');
  });

  it('structured output (json_schema)', async () => {
    const agent = new Agent({
      name: 'city',
      instructions: 'Name a city.',
      model: models[0]![1](tg.key, STRUCTURED),
      outputType: {
        type: 'json_schema',
        name: 'city',
        strict: true,
        schema: {
          type: 'object' as const,
          properties: { city: { type: 'string' }, units: { type: 'string', enum: ['c', 'f'] } },
          required: ['city', 'units'],
          additionalProperties: false as const,
        },
      },
    });
    expect((await run(agent, 'Which city?')).finalOutput).toEqual({ city: 'San Francisco', units: 'c' });
  });

  it('429 with a client allowing one retry: the run waits Retry-After, then succeeds', async () => {
    await expectRetryAfterHonoured(tg, (apiKey) => {
      const model = new OpenAIChatCompletionsModel(new OpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey, maxRetries: 1 }), SIM);
      return run(new Agent({ name: 'greeter', instructions: 'Greet.', model, modelSettings: { maxTokens: REFUSED_MAX_TOKENS } }), QUESTION);
    });
  });

  it('429 that can never succeed: x-should-retry false, not retried by a client with maxRetries 2', async () => {
    const limited = await tg.neverFits();
    const model = new OpenAIChatCompletionsModel(new OpenAI({ baseURL: `${tg.url}/openai/v1`, apiKey: limited.key, maxRetries: 2 }), SIM);
    const agent = new Agent({ name: 'greeter', instructions: 'Greet.', model, modelSettings: { maxTokens: NEVER_FITS_MAX_TOKENS } });
    const error = await run(agent, QUESTION).catch((e: unknown) => e);
    expectNeverFits(error, (error as { headers?: Headers }).headers);
    expect(await limited.attempts()).toBe(1);
  });

  it('429 and 403 surface as the openai SDK errors, sent once', async () => {
    for (const [refusing, status] of [[() => tg.rateLimited(), 429], [() => tg.quotaSpent(), 403]] as const) {
      const limited = await refusing();
      const agent = new Agent({ name: 'greeter', instructions: 'Greet.', model: models[0]![1](limited.key), modelSettings: { maxTokens: REFUSED_MAX_TOKENS } });
      const error = await run(agent, QUESTION).catch((e: unknown) => e);
      expectRefusal(error, status, (error as { headers?: Headers }).headers);
      expect(await limited.attempts()).toBe(1);
    }
  });
});
