import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens } from '../../src/accounting/count.js';
import type { LedgerEntry } from '../../src/usage/ledger.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { ledgerKey, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const RECORDINGS = fileURLToPath(new URL('../fixtures/provider-recordings/', import.meta.url));
const recording = (file: string) => readFileSync(RECORDINGS + file);
const API_VERSION = '2025-03-01-preview';
const messages = [{ role: 'user' as const, content: 'Say hello to the gateway.' }];

/** The ledger row of a request, once its exchange is over and the ledger written. */
async function ledgerRow(gw: TestGateway, requestId: string): Promise<LedgerEntry> {
  for (let i = 0; i < 100; i++) {
    await gw.tollgate.ledger!.flush();
    const row = (await gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 1000 })).find((e) => e.requestId === requestId);
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ledger row for ${requestId}`);
}
const tokensOf = (row: LedgerEntry) => ({ prompt: row.promptTokens, completion: row.completionTokens, total: row.totalTokens });
let sequence = 0;
const requestId = (what: string) => ({ headers: { 'x-request-id': `${what}-${++sequence}` } });

/** The Azure client paths of the Responses and Chat APIs, served by the simulated deployment. */
describe('AzureOpenAI against a simulated deployment', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let azure: AzureOpenAI;

  beforeAll(async () => {
    gw = await startGateway({ ledgerFlushMs: 20 });
    seeded = await seedBasic(gw, { completionTokens: 12 });
    azure = new AzureOpenAI({ endpoint: gw.url, apiKey: seeded.key, apiVersion: API_VERSION, maxRetries: 0 });
  });
  afterAll(() => gw.close());

  it('responses.create at /openai/responses?api-version, the deployment as model, streamed and not', async () => {
    const { data: response, response: raw } = await azure.responses
      .create({ model: 'sim-chat', input: 'Hello there', max_output_tokens: 20 }, requestId('sim-resp'))
      .withResponse();
    expect(response.output_text).toMatch(/^Hello/);
    expect(response.usage).toMatchObject({ input_tokens: countTextTokens('Hello there'), output_tokens: 12 });
    expect(raw.headers.get('x-tokens-consumed')).toBe(String(countTextTokens('Hello there') + 12));
    expect(tokensOf(await ledgerRow(gw, `sim-resp-${sequence}`))).toEqual({ prompt: countTextTokens('Hello there'), completion: 12, total: countTextTokens('Hello there') + 12 });

    const stream = await azure.responses.create({ model: 'sim-chat', input: 'Hello there', stream: true }, requestId('sim-resp-stream'));
    const events: string[] = [];
    for await (const event of stream) events.push(event.type);
    expect(events.filter((e) => e === 'response.output_text.delta')).toHaveLength(12);
    expect(events.at(-1)).toBe('response.completed');
    expect(tokensOf(await ledgerRow(gw, `sim-resp-stream-${sequence}`))).toMatchObject({ completion: 12 });
  });

  it('responses at /openai/deployments/{d}/responses (a base URL bound to a deployment, as LangChain’s AzureChatOpenAI sets it)', async () => {
    const bound = new AzureOpenAI({ baseURL: `${gw.url}/openai/deployments/sim-chat`, apiKey: seeded.key, apiVersion: API_VERSION, maxRetries: 0 });
    const response = await bound.responses.create({ model: '', input: 'Hello there' });
    expect(response.output_text).toMatch(/^Hello/);
    const stream = await bound.responses.create({ model: '', input: 'Hello there', stream: true });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(countTextTokens(text)).toBe(12);
  });

  it('chat at /openai/chat/completions?api-version with the deployment in the body, streamed and not', async () => {
    const post = (body: Record<string, unknown>) =>
      fetch(`${gw.url}/openai/chat/completions?api-version=${API_VERSION}`, {
        method: 'POST',
        headers: { 'api-key': seeded.key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim-chat', messages, ...body }),
      });
    const res = await post({});
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(answer.usage).toMatchObject({ prompt_tokens: countChatPromptTokens(messages), completion_tokens: 12 });
    expect(res.headers.get('x-tokens-consumed')).toBe(String(countChatPromptTokens(messages) + 12));
    const streamed = await post({ stream: true });
    expect(streamed.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await streamed.text();
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"usage":{'); // asked for on the client's behalf, and stripped
  });

  it('an unknown deployment on the new paths is the catalogued 404', async () => {
    await expect(azure.responses.create({ model: 'nope', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'deployment_not_found' });
  });
});

/**
 * An `azure-openai` deployment: Responses go upstream to `/openai/v1/responses` (no api-version,
 * the upstream deployment as model), chat to the deployment path with the api-version.
 */
describe('AzureOpenAI against an azure-openai deployment (fake Azure upstream)', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let key: string;
  let azure: AzureOpenAI;

  beforeAll(async () => {
    upstream = await startFakeUpstream((req, res) => {
      const stream = req.body?.stream === true;
      const file = req.url.startsWith('/openai/v1/responses')
        ? stream
          ? 'az-resp-stream-text.sse'
          : 'az-resp-text.json'
        : stream
          ? 'az-chat-stream-filter.sse'
          : 'az-chat-basic.json';
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.end(recording(file));
    });
    gw = await startGateway({ ledgerFlushMs: 20 });
    await gw.admin('POST', '/resources', { name: 'r1' });
    const created = await gw.admin('POST', '/resources/r1/deployments', {
      name: 'az',
      provider: 'azure-openai',
      upstreamUrl: upstream.url,
      upstreamModel: 'my-azure-deployment',
      upstreamApiKey: 'azure-secret',
    });
    expect(created.status).toBe(201);
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    azure = new AzureOpenAI({ endpoint: gw.url, apiKey: key, apiVersion: API_VERSION, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  const lastUpstream = () => upstream.requests.at(-1)!;

  it('responses (from /openai/responses) go to /openai/v1/responses, charged the recorded usage', async () => {
    const { data, response } = await azure.responses.create({ model: 'az', input: 'hi' }, requestId('az-resp')).withResponse();
    expect(data.output_text.length).toBeGreaterThan(0);
    expect(lastUpstream().url).toBe('/openai/v1/responses');
    expect(lastUpstream().body.model).toBe('my-azure-deployment');
    expect(lastUpstream().headers['api-key']).toBe('azure-secret');
    expect(response.headers.get('x-tokens-consumed')).toBe('22');
    expect(tokensOf(await ledgerRow(gw, `az-resp-${sequence}`))).toEqual({ prompt: 11, completion: 11, total: 22 });
  });

  it('streamed responses, from /openai/v1/responses and /openai/deployments/{d}/responses, charged the recorded usage', async () => {
    const viaV1 = new AzureOpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, apiVersion: API_VERSION, maxRetries: 0 });
    const bound = new AzureOpenAI({ baseURL: `${gw.url}/openai/deployments/az`, apiKey: key, apiVersion: API_VERSION, maxRetries: 0 });
    for (const [client, model, what] of [
      [azure, 'az', 'az-resp-stream'],
      [viaV1, 'az', 'az-resp-stream-v1'],
      [bound, '', 'az-resp-stream-bound'],
    ] as const) {
      const stream = await client.responses.create({ model, input: 'hi', stream: true }, requestId(what));
      let completed = false;
      for await (const event of stream) completed ||= event.type === 'response.completed';
      expect(completed, what).toBe(true);
      expect(lastUpstream().url, what).toBe('/openai/v1/responses');
      expect(lastUpstream().body.model, what).toBe('my-azure-deployment');
      expect(tokensOf(await ledgerRow(gw, `${what}-${sequence}`)), what).toEqual({ prompt: 11, completion: 11, total: 22 });
    }
  });

  it('chat goes to the deployment path with the api-version, streamed and not, charged the recorded usage', async () => {
    const { response } = await azure.chat.completions.create({ model: 'az', messages }, requestId('az-chat')).withResponse();
    expect(lastUpstream().url).toBe(`/openai/deployments/my-azure-deployment/chat/completions?api-version=${API_VERSION}`);
    expect(response.headers.get('x-tokens-consumed')).toBe('279');
    expect(tokensOf(await ledgerRow(gw, `az-chat-${sequence}`))).toEqual({ prompt: 8, completion: 271, total: 279 });

    const stream = await azure.chat.completions.create({ model: 'az', messages, stream: true }, requestId('az-chat-stream'));
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(lastUpstream().body.stream_options).toEqual({ include_usage: true });
    expect(tokensOf(await ledgerRow(gw, `az-chat-stream-${sequence}`))).toEqual({ prompt: 15, completion: 78, total: 93 });
  });

  it('chat from /openai/chat/completions?api-version (deployment in model) reaches the same upstream path', async () => {
    const res = await fetch(`${gw.url}/openai/chat/completions?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'az', messages }),
    });
    expect(res.status).toBe(200);
    expect(lastUpstream().url).toBe(`/openai/deployments/my-azure-deployment/chat/completions?api-version=${API_VERSION}`);
    expect(res.headers.get('x-tokens-consumed')).toBe('279');
  });
});
