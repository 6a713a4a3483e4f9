import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens } from '../../src/accounting/count.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

/** The official openai SDK, unchanged, against the gateway and its simulated model. */
describe('openai SDK against the simulated provider', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let openai: OpenAI;
  let azure: AzureOpenAI;
  const messages = [{ role: 'user' as const, content: 'Say hello to the gateway.' }];

  beforeAll(async () => {
    gw = await startGateway();
    seeded = await seedBasic(gw, { completionTokens: 12 });
    openai = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    azure = new AzureOpenAI({ endpoint: gw.url, apiKey: seeded.key, apiVersion: '2024-10-21', maxRetries: 0 });
  });
  afterAll(() => gw.close());

  it('OpenAI: chat completion with exact usage', async () => {
    const res = await openai.chat.completions.create({ model: 'sim-chat', messages });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message.content).toMatch(/^Hello/);
    expect(res.usage).toMatchObject({
      prompt_tokens: countChatPromptTokens(messages),
      completion_tokens: 12,
      total_tokens: countChatPromptTokens(messages) + 12,
    });
    expect(countTextTokens(res.choices[0]!.message.content!)).toBe(12);
  });

  it('OpenAI: streamed chat completion, with and without usage', async () => {
    const stream = await openai.chat.completions.create({ model: 'sim-chat', messages, stream: true, max_tokens: 5 });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(countTextTokens(text)).toBe(5);
    expect(finish).toBe('length');

    const withUsage = await openai.chat.completions.create({
      model: 'sim-chat',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    expect(usage?.completion_tokens).toBe(12);
  });

  it('OpenAI: embeddings, responses and models', async () => {
    const emb = await openai.embeddings.create({ model: 'sim-chat', input: ['one', 'two'] });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[0]!.embedding.length).toBeGreaterThan(0);

    const response = await openai.responses.create({ model: 'sim-chat', input: 'Hello there', max_output_tokens: 20 });
    expect(response.output_text).toMatch(/^Hello/);
    expect(response.usage?.output_tokens).toBe(12);

    const events: string[] = [];
    const stream = await openai.responses.create({ model: 'sim-chat', input: 'Hello there', stream: true });
    for await (const event of stream) events.push(event.type);
    expect(events.at(-1)).toBe('response.completed');
    expect(events.filter((e) => e === 'response.output_text.delta')).toHaveLength(12);

    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['sim-chat']);
  });

  it('AzureOpenAI: chat, streamed chat and embeddings by deployment path', async () => {
    const res = await azure.chat.completions.create({ model: 'sim-chat', messages });
    expect(res.choices[0]!.message.content).toMatch(/^Hello/);

    const perDeployment = new AzureOpenAI({
      endpoint: gw.url,
      apiKey: seeded.secondaryKey,
      apiVersion: '2024-10-21',
      deployment: 'sim-chat',
      maxRetries: 0,
    });
    const stream = await perDeployment.chat.completions.create({ model: '', messages, stream: true });
    let chunks = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) chunks++;
    expect(chunks).toBe(12);

    const emb = await azure.embeddings.create({ model: 'sim-chat', input: 'embed me' });
    expect(emb.data).toHaveLength(1);
  });

  it('SDK errors carry the catalogued codes', async () => {
    const badKey = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: 'tgk_nope', maxRetries: 0 });
    await expect(badKey.chat.completions.create({ model: 'sim-chat', messages })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    await expect(openai.chat.completions.create({ model: 'gpt-nope', messages })).rejects.toMatchObject({
      status: 404,
      code: 'deployment_not_found',
    });
  });
});
