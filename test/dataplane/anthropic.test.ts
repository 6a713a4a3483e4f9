import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/accounting/count.js';
import { estimatePromptTokens } from '../../src/operations/registry.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Say hello to the gateway.' }];
const PROMPT = estimatePromptTokens('messages', { messages }, 'o200k_base');

/** Polls `read` until `done` holds, at most `tries` × 20 ms: the gateway settles a stream after its end. */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, tries = 100): Promise<T> {
  let value = await read();
  for (let i = 0; i < tries && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 20));
    value = await read();
  }
  return value;
}

/** The official Anthropic SDK, unchanged, against the gateway's /anthropic/v1 and its simulated model. */
describe('Anthropic SDK against the simulated provider', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let client: Anthropic;
  const limiter = new MemoryLimiter();

  beforeAll(async () => {
    gw = await startGateway({}, { limiter });
    seeded = await seedBasic(gw, { completionTokens: 12 });
    await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-slow', provider: 'simulated', options: { completionTokens: 200, chunkDelayMs: 15 } });
    client = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: seeded.key, maxRetries: 0 });
  });
  afterAll(() => gw.close());

  async function limit(body: Record<string, unknown>): Promise<{ id: string; used: () => Promise<number> }> {
    const res = await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', ...body });
    expect(res.status).toBe(201);
    const rule = res.body;
    return { id: rule.id, used: async () => (await limiter.peek(rule)).quota?.used ?? (await limiter.peek(rule)).tpm!.used };
  }

  it('creates a message with exact usage, charged as reported', async () => {
    const quota = await limit({ tokenQuota: 1_000_000, quotaPeriod: 'monthly' });
    const { data, response } = await client.messages.create({ model: 'sim-chat', max_tokens: 100, messages }).withResponse();
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.stop_reason).toBe('end_turn');
    const text = data.content[0]!.type === 'text' ? data.content[0]!.text : '';
    expect(text).toMatch(/^Hello/);
    expect(countTextTokens(text)).toBe(12);
    expect(data.usage).toMatchObject({ input_tokens: PROMPT, output_tokens: 12 });
    expect(response.headers.get('x-tokens-consumed')).toBe(String(PROMPT + 12));
    expect(response.headers.get('x-quota-remaining-tokens')).toBe(String(1_000_000 - PROMPT - 12));
    expect(await quota.used()).toBe(PROMPT + 12);
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('streams a message event by event, and charges the usage the stream reports', async () => {
    const quota = await limit({ tokenQuota: 1_000_000, quotaPeriod: 'monthly' });
    const stream = client.messages.stream({ model: 'sim-chat', max_tokens: 5, messages });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    expect(deltas).toHaveLength(5);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage).toMatchObject({ input_tokens: PROMPT, output_tokens: 5 });
    expect(await poll(quota.used, (n) => n > 0)).toBe(PROMPT + 5);

    const events: string[] = [];
    for await (const event of await client.messages.create({ model: 'sim-chat', max_tokens: 100, messages, stream: true })) events.push(event.type);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events.filter((e) => e === 'content_block_delta')).toHaveLength(12);
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('charges a client that disconnects mid-stream for the reported prompt and the text it was sent', async () => {
    const quota = await limit({ tokenQuota: 1_000_000, quotaPeriod: 'monthly' });
    const controller = new AbortController();
    const stream = await client.messages.create({ model: 'sim-slow', max_tokens: 200, messages, stream: true }, { signal: controller.signal });
    let deltas = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && ++deltas === 5) controller.abort();
      }
    } catch {
      // the abort ends the iteration
    }
    // Until the gateway notices the disconnect, the whole reservation (PROMPT + 200) is held.
    const charged = await poll(quota.used, (n) => n < PROMPT + 200);
    expect(charged).toBeGreaterThanOrEqual(PROMPT + 5);
    expect(charged).toBeLessThan(PROMPT + 200); // not the reservation, and not the whole answer
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('counts tokens free of charge: no limit applies, none is charged', async () => {
    const tpm = await limit({ tokensPerMinute: 1 }); // not even one request would fit
    const counted = await client.messages.countTokens({ model: 'sim-chat', messages });
    expect(counted.input_tokens).toBe(PROMPT);
    expect(await tpm.used()).toBe(0);
    await gw.admin('DELETE', `/gateways/gw1/limits/${tpm.id}`);
  });

  it('lists the deployments the key may use, in Anthropic’s list format', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['sim-chat', 'sim-slow']);
    expect(page.data[0]).toMatchObject({ type: 'model', display_name: 'sim-chat' });
  });

  it('answers a spent TPM limit with 429 and Retry-After, a spent quota with 403, as Anthropic errors', async () => {
    const tpm = await limit({ deployment: 'sim-chat', tokensPerMinute: PROMPT + 20 });
    await client.messages.create({ model: 'sim-chat', max_tokens: 20, messages });
    const rateLimited = await client.messages.create({ model: 'sim-chat', max_tokens: 20, messages }).catch((e: unknown) => e);
    expect(rateLimited).toBeInstanceOf(Anthropic.RateLimitError);
    const r = rateLimited as InstanceType<typeof Anthropic.RateLimitError>;
    expect(r.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', code: 'token_rate_limit_exceeded' } });
    expect(Number(r.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(r.message).toMatch(/Try again in \d+ seconds?/);
    await gw.admin('DELETE', `/gateways/gw1/limits/${tpm.id}`);

    const quota = await limit({ tokenQuota: PROMPT, quotaPeriod: 'daily' });
    const exhausted = await client.messages.create({ model: 'sim-chat', max_tokens: 20, messages }).catch((e: unknown) => e);
    expect(exhausted).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const q = exhausted as InstanceType<typeof Anthropic.PermissionDeniedError>;
    expect(q.error).toMatchObject({ error: { type: 'permission_error', code: 'token_quota_exceeded' } });
    expect(q.message).toMatch(/Lower max_tokens/);
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('answers gateway errors in Anthropic’s shape, so the SDK raises its typed errors', async () => {
    const noKey = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: 'sk-not-a-project-key', maxRetries: 0 });
    const unauthorized = await noKey.messages.create({ model: 'sim-chat', max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(unauthorized).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((unauthorized as APIError).error).toMatchObject({ type: 'error', error: { type: 'authentication_error', code: 'invalid_api_key' } });

    const missing = await client.messages.create({ model: 'no-such-model', max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as APIError).message).toMatch(/available: sim-chat, sim-slow/);

    const bad = await fetch(`${gw.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'x-api-key': seeded.key }, body: '{"model":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_request' } });

    const wrongType = await client.messages.create({ model: 'sim-chat', max_tokens: 10, messages: 'hi' as never }).catch((e: unknown) => e);
    expect(wrongType).toBeInstanceOf(Anthropic.BadRequestError);
    expect((wrongType as APIError).message).toMatch(/'messages' must be an array of messages/);

    const route = await fetch(`${gw.url}/anthropic/v1/complete`, { method: 'POST', headers: { 'x-api-key': seeded.key }, body: '{}' });
    expect(route.status).toBe(404);
    expect(await route.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error', code: 'route_not_found' } });

    // The simulated model answers in the dialect it is asked in, its own 400s included.
    const noMax = await client.messages.create({ model: 'sim-chat', messages } as never).catch((e: unknown) => e);
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError);
    expect((noMax as APIError).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });
});

/** The anthropic provider, against a local stand-in for api.anthropic.com. */
describe('anthropic provider, to an Anthropic-style upstream', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let client: Anthropic;
  let key: string;
  const limiter = new MemoryLimiter();
  const USAGE = { input_tokens: 7, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 4 };

  beforeAll(async () => {
    upstream = await startFakeUpstream((req, res) => {
      if (req.url === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: 42 }));
        return;
      }
      if (req.body?.messages?.[0]?.content === 'overloaded') {
        res.writeHead(529, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
        return;
      }
      const message = { id: 'msg_up_1', type: 'message', role: 'assistant', model: req.body.model, stop_reason: null, stop_sequence: null };
      if (!req.body?.stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_up_1' });
        res.end(JSON.stringify({ ...message, content: [{ type: 'text', text: 'Hi there' }], stop_reason: 'end_turn', usage: USAGE }));
        return;
      }
      const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.write(event('message_start', { message: { ...message, content: [], usage: { ...USAGE, output_tokens: 1 } } }));
      if (req.body.messages[0].content === 'slow') {
        // Text until the client goes away (bounded: at most 100 deltas).
        res.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
        let sent = 0;
        const timer = setInterval(() => {
          if (++sent > 100) clearInterval(timer);
          else res.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' word' } }));
        }, 10);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.write(event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }));
      // One event split across two writes: the gateway must pass it whole.
      const split = event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": "Paris"}' } });
      res.write(split.slice(0, 30));
      setTimeout(() => {
        res.write(split.slice(30));
        res.write(event('content_block_stop', { index: 0 }));
        res.write(event('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 4 } }));
        res.end(event('message_stop', {}));
      }, 10);
    });
    gw = await startGateway({}, { limiter });
    await gw.admin('POST', '/resources', { name: 'r1' });
    const created = await gw.admin('POST', '/resources/r1/deployments', {
      name: 'claude',
      provider: 'anthropic',
      upstreamUrl: upstream.url,
      upstreamModel: 'claude-sonnet-4-5',
      upstreamApiKey: 'sk-ant-upstream-secret',
    });
    expect(created.status).toBe(201);
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    client = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.requests.length = 0;
  });

  it('forwards to {base}/v1/messages with its own key and model, and the client’s API version and betas', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' } })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'Hi there' }]);
    const sent = upstream.requests[0]!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-upstream-secret');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] });
    // The prompt includes what was written to and read from Anthropic's prompt cache.
    expect(response.headers.get('x-tokens-consumed')).toBe(String(7 + 100 + 1000 + 4));

    // A client that names no version (a hand-written one; every SDK names one) gets the first.
    const bare = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(bare.status).toBe(200);
    expect(upstream.requests[1]!.headers['anthropic-version']).toBe('2023-06-01');
    expect(upstream.requests[1]!.headers['anthropic-beta']).toBeUndefined();
  });

  it('relays a tool-use stream whole and charges its usage, cache tokens included', async () => {
    const quota = (await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 1_000_000, quotaPeriod: 'monthly' })).body;
    const stream = client.messages.stream({
      model: 'claude',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(final.usage.output_tokens).toBe(4);
    const used = await poll(async () => (await limiter.peek(quota)).quota!.used, (n) => n > 0);
    expect(used).toBe(7 + 100 + 1000 + 4);
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('charges a client that leaves mid-stream the prompt the upstream reported, not the estimate', async () => {
    const quota = (await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 1_000_000, quotaPeriod: 'monthly' })).body;
    const controller = new AbortController();
    const stream = await client.messages.create({ model: 'claude', max_tokens: 500, messages: [{ role: 'user', content: 'slow' }], stream: true }, { signal: controller.signal });
    let deltas = 0;
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && ++deltas === 3) controller.abort();
      }
    } catch {
      // the abort ends the iteration
    }
    // The prompt estimate is a few tokens (the reservation: those + 500); message_start reported
    // 7 + 100 + 1000 with the cache. Wait for the settlement, which leaves more than that.
    const used = await poll(async () => (await limiter.peek(quota)).quota!.used, (n) => n >= 1107);
    expect(used).toBeGreaterThanOrEqual(1107 + 3);
    expect(used).toBeLessThan(1107 + 100);
    await gw.admin('DELETE', `/gateways/gw1/limits/${quota.id}`);
  });

  it('forwards count_tokens to {base}/v1/messages/count_tokens', async () => {
    const counted = await client.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] });
    expect(counted.input_tokens).toBe(42);
    expect(upstream.requests[0]!.url).toBe('/v1/messages/count_tokens');
    expect(upstream.requests[0]!.body.model).toBe('claude-sonnet-4-5');
    expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-ant-upstream-secret');
  });

  it('passes the upstream’s own errors through unchanged', async () => {
    const err = await client.messages.create({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'overloaded' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect((err as APIError).status).toBe(529);
    expect((err as APIError).error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('keeps OpenAI clients off an Anthropic deployment with a clear 400, and lists it only to Anthropic clients', async () => {
    const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Deployment "claude" (anthropic) does not support chat.completions.');
    expect(upstream.requests).toHaveLength(0);

    const openaiModels = (await (await fetch(`${gw.url}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: unknown[] };
    expect(openaiModels.data).toEqual([]);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['claude']);
  });

  it('refuses an anthropic deployment without an upstream key when it goes to api.anthropic.com', async () => {
    const res = await gw.admin('POST', '/resources/r1/deployments', { name: 'claude-nokey', provider: 'anthropic' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/upstreamApiKey is required for provider anthropic/);
  });
});
