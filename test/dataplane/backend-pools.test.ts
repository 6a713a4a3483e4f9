import OpenAI from 'openai';
import { createServer, type AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/harness.js';
import { chatCompletion, sseChunk, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { expectStatus } from '../support/admin-helpers.js';

/** How a fake backend answers its next requests. */
type Mode = 'ok' | '429-retry-after' | '429-retry-after-ms' | '503' | 'hang' | 'stream-breaks';

interface FakeBackend {
  upstream: FakeUpstream;
  mode: Mode;
  /** Requests this backend received. */
  readonly count: number;
}

async function startBackend(label: string): Promise<FakeBackend> {
  const backend: FakeBackend = {
    upstream: null as unknown as FakeUpstream,
    mode: 'ok',
    get count() {
      return backend.upstream.requests.length;
    },
  };
  backend.upstream = await startFakeUpstream((req, res: ServerResponse) => {
    const model = req.body?.model ?? 'm';
    switch (backend.mode) {
      case '429-retry-after':
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
        res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
        return;
      case '429-retry-after-ms':
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '400' });
        res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
        return;
      case '503':
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'busy', type: 'server_error', code: null } }));
        return;
      case 'hang':
        return; // never answers: the gateway's upstream timeout ends it
      case 'stream-breaks':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(sseChunk(model, 'first'));
        setTimeout(() => res.destroy(), 50);
        return;
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chatCompletion(model, `from ${label}`)));
    }
  });
  return backend;
}

/** A URL on which nothing listens: connections are refused. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

describe('backend pools: selection, failover and circuit breakers', () => {
  let gw: TestGateway;
  let key: string;
  let a: FakeBackend;
  let b: FakeBackend;
  let c: FakeBackend;
  let client: OpenAI;
  let serial = 0;

  /** A new deployment (fresh breakers) over the given backends; answers its name. */
  async function pool(backends: Record<string, unknown>[], extra: Record<string, unknown> = {}): Promise<string> {
    const name = `pool-${++serial}`;
    expectStatus(await gw.admin('POST', '/resources/r1/deployments', { name, provider: 'openai-compatible', backends, ...extra }), 201);
    await gw.tollgate.snapshots.refresh();
    return name;
  }
  const backend = (name: string, fake: FakeBackend | string, more: Record<string, unknown> = {}) => ({
    name,
    upstreamUrl: typeof fake === 'string' ? fake : `${fake.upstream.url}/v1`,
    upstreamApiKey: `sk-${name}`,
    ...more,
  });
  const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

  /** The status of a request the SDK throws for. */
  const failedStatus = (model: string) =>
    chat(model).then(
      () => 200,
      (e: { status: number }) => e.status,
    );

  async function lastLog(): Promise<{ backend: string | null; attempts: number | null; status: number; tokens: { total: number } }> {
    await gw.tollgate.ledger!.flush();
    return expectStatus(await gw.admin('GET', '/gateways/gw1/logs?limit=1'), 200).items[0];
  }

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
    gw = await startGateway({ upstreamTimeoutMs: 300 });
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([a, b, c].map((f) => f.upstream.close()));
  });
  const reset = () => {
    for (const f of [a, b, c]) {
      f.mode = 'ok';
      f.upstream.requests.length = 0;
    }
  };

  it('fails over after a 429 with Retry-After, and keeps the tripped backend out for that long', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 })]);
    a.mode = '429-retry-after';
    const res = await chat(name);
    expect(res.data.choices[0]!.message.content).toBe('from b');
    expect(a.upstream.requests[0]!.headers.authorization).toBe('Bearer sk-a');
    expect(b.upstream.requests[0]!.headers.authorization).toBe('Bearer sk-b');
    expect(await lastLog()).toMatchObject({ backend: 'b', attempts: 2, status: 200 });
    // a is tripped for its Retry-After (30 s): the next request goes straight to b.
    a.mode = 'ok';
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    expect(a.count).toBe(1);
    expect(await lastLog()).toMatchObject({ backend: 'b', attempts: 1 });
  });

  it('fails over after a 503', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 })]);
    a.mode = '503';
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    expect([a.count, b.count]).toEqual([1, 1]);
  });

  it('fails over when a backend refuses the connection', async () => {
    reset();
    const name = await pool([backend('gone', await closedPortUrl()), backend('b', b, { priority: 2 })]);
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    expect(await lastLog()).toMatchObject({ backend: 'b', attempts: 2, status: 200 });
  });

  it('fails over when a backend hangs past the upstream timeout', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 })]);
    a.mode = 'hang';
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    expect([a.count, b.count]).toEqual([1, 1]);
  });

  it('never retries a stream that broke after its first byte', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 })]);
    a.mode = 'stream-breaks';
    const stream = await client.chat.completions.create({ model: name, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) got.push(chunk.choices[0]?.delta?.content ?? '');
      })(),
    ).rejects.toThrow();
    expect(got).toContain('first');
    expect([a.count, b.count]).toEqual([1, 0]);
  });

  it('uses a lower priority only while the higher one is tripped, and returns to it once recovered', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b), backend('c', c, { priority: 2 })]);
    for (let i = 0; i < 4; i++) await chat(name);
    expect([a.count, b.count, c.count]).toEqual([2, 2, 0]);
    reset();
    a.mode = b.mode = '429-retry-after-ms'; // trips each for 400 ms
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from c');
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from c');
    expect([a.count, b.count, c.count]).toEqual([1, 1, 2]);
    a.mode = b.mode = 'ok';
    await new Promise((resolve) => setTimeout(resolve, 450)); // the upstreams' own wait
    const back = (await chat(name)).data.choices[0]!.message.content;
    expect(['from a', 'from b']).toContain(back);
  });

  it('trips after the configured failures, lets one probe through when the trip is over, and closes on its success', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 })], {
      retry: { on: [] },
      circuitBreaker: { failures: 2, intervalSeconds: 60, tripSeconds: 1 },
    });
    a.mode = '503';
    expect(await failedStatus(name)).toBe(503);
    expect(await failedStatus(name)).toBe(503);
    expect(a.count).toBe(2);
    // Open: b serves.
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    expect(a.count).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    // Half-open: the probe fails and re-opens it.
    expect(await failedStatus(name)).toBe(503);
    expect(a.count).toBe(3);
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from b');
    await new Promise((resolve) => setTimeout(resolve, 1050));
    a.mode = 'ok';
    // The probe succeeds: closed, a serves again.
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from a');
    expect((await chat(name)).data.choices[0]!.message.content).toBe('from a');
  });

  it('answers 503 backends_unavailable with Retry-After when every backend is tripped', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b)]);
    a.mode = b.mode = '429-retry-after';
    // Both answer 429 with Retry-After: 30; the client gets the last one.
    expect(await failedStatus(name)).toBe(429);
    expect([a.count, b.count]).toEqual([1, 1]);
    const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: name, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('backends_unavailable');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(29);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(Number(res.headers.get('retry-after-ms'))).toBeGreaterThan(28_000);
    expect([a.count, b.count]).toEqual([1, 1]);
  });

  it('holds one reservation across attempts: the limit and the ledger count the answer once', async () => {
    reset();
    const name = await pool([backend('a', a), backend('b', b, { priority: 2 }), backend('c', c, { priority: 3 })]);
    const limit = expectStatus(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', deployment: name, tokensPerMinute: 100_000 }), 201);
    await gw.tollgate.snapshots.refresh();
    a.mode = '503';
    b.mode = '429-retry-after';
    const res = await chat(name);
    expect(res.data.choices[0]!.message.content).toBe('from c');
    expect(res.response.headers.get('x-tokens-consumed')).toBe('8');
    expect(await lastLog()).toMatchObject({ backend: 'c', attempts: 3, tokens: { total: 8 } });
    const status = expectStatus(await gw.admin('GET', `/gateways/gw1/limits/${limit.id}/status`), 200);
    expect(status.tpm).toMatchObject({ used: 8 });
  });
});
