import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { startHttpAgent, type TestHttpAgent } from './http-agent.js';

/** A plain HTTP agent behind the proxy: forwarding, auth pass-through, streaming, access, limits, logs. */
describe('HTTP agents through the proxy', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let agent: TestHttpAgent;
  let proxy: string;
  let otherKey: string;

  beforeAll(async () => {
    agent = await startHttpAgent();
    gw = await startGateway();
    seeded = await seedBasic(gw);
    otherKey = expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 201).keys.primary;
    const created = expectStatus(await gw.admin('POST', '/gateways/gw1/agents', { name: 'echo', project: 'p1', url: agent.url }), 201);
    expect(created).toMatchObject({ protocol: 'http', agentCardUrl: null, projects: [], status: expect.stringMatching(/^(running|unknown)$/) });
    proxy = created.proxyUrl;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await agent?.close();
  });

  it('forwards method, path, query and body; the agent\'s own Authorization passes when the key is in api-key', async () => {
    const res = await fetch(`${proxy}/tasks/7?verbose=1&x=%20y`, {
      method: 'PUT',
      headers: { 'api-key': seeded.key, authorization: 'Bearer agent-token', 'content-type': 'text/plain', 'x-custom': 'kept' },
      body: 'hello agent',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-agent')).toBe('echo');
    const seen = (await res.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect(seen).toMatchObject({ method: 'PUT', url: '/base/tasks/7?verbose=1&x=%20y', body: 'hello agent' });
    expect(seen.headers.authorization).toBe('Bearer agent-token');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['api-key']).toBeUndefined();
  });

  it('accepts the key in x-api-key too, and as the only Authorization: Bearer, which is then not forwarded', async () => {
    const viaX = (await (await fetch(`${proxy}/a`, { headers: { 'x-api-key': seeded.key, authorization: 'Basic abc' } })).json()) as { headers: Record<string, string> };
    expect(viaX.headers.authorization).toBe('Basic abc');
    expect(viaX.headers['x-api-key']).toBeUndefined();
    const bearer = await fetch(`${proxy}/b`, { headers: { authorization: `Bearer ${seeded.key}` } });
    expect(bearer.status).toBe(200);
    const seen = (await bearer.json()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/base/b');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('passes the agent\'s own error statuses through unchanged', async () => {
    const res = await fetch(`${proxy}/x?status=418`, { headers: { 'api-key': seeded.key } });
    expect(res.status).toBe(418);
  });

  it('streams SSE unbuffered: each event reaches the client before the agent writes the next', async () => {
    const res = await fetch(`${proxy}/events`, { headers: { 'api-key': seeded.key } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let n = 1; n <= 3; n++) {
      agent.step();
      // Had the proxy buffered, this read would wait for an event the agent never writes.
      while (!text.includes(`"n":${n}`)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      expect(text).toContain(`data: {"n":${n}}`);
      expect(text).not.toContain(`"n":${n + 1}`);
    }
    expect((await reader.read()).done).toBe(true);
  }, 30_000);

  it('a client that leaves mid-stream closes the agent\'s stream too, and is logged as client_aborted', async () => {
    const abort = new AbortController();
    const res = await fetch(`${proxy}/events?leave=1`, { headers: { 'api-key': seeded.key }, signal: abort.signal });
    const reader = res.body!.getReader();
    agent.step();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"n":1');
    abort.abort();
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      const items = (await gw.admin('GET', '/gateways/gw1/logs?kind=agent&outcome=client_aborted')).body.items as Array<Record<string, unknown>>;
      row = items[0];
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ agent: 'echo', status: 200, streamed: true, outcome: 'client_aborted' });
    // The proxy closed its request to the agent: the agent's stream ended before its last event.
    for (let i = 0; i < 100 && agent.streamsCutShort === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(agent.streamsCutShort).toBe(1);
    agent.step(); // lets the agent's loop run out
    agent.step();
  }, 30_000);

  it('refuses a bad key (401), an unknown agent (404) and a project without access (403), until it is granted', async () => {
    expectError(await answer(fetch(`${proxy}/a`, { headers: { 'api-key': 'wrong' } })), 401, 'invalid_api_key');
    expectError(await answer(fetch(`${gw.url}/agents/nope/a`, { headers: { 'api-key': seeded.key } })), 404, 'agent_not_found');
    expectError(await answer(fetch(`${proxy}/a`, { headers: { 'api-key': otherKey } })), 403, 'agent_access_denied');
    expect(expectStatus(await gw.admin('PUT', '/gateways/gw1/agents/echo/projects/p2'), 200).projects).toEqual(['p2']);
    expect((await fetch(`${proxy}/a`, { headers: { 'api-key': otherKey } })).status).toBe(200);
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/agents/echo/projects/p2'), 200);
    expectError(await answer(fetch(`${proxy}/a`, { headers: { 'api-key': otherKey } })), 403, 'agent_access_denied');
  });

  it('blocks with 403 agent_blocked in Tollgate\'s error JSON, and unblocks', async () => {
    expectStatus(await gw.admin('POST', '/gateways/gw1/agents/echo/block'), 200);
    const refused = await answer(fetch(`${proxy}/a`, { method: 'POST', headers: { 'api-key': seeded.key }, body: 'x' }));
    expectError(refused, 403, 'agent_blocked');
    expect((await gw.admin('GET', '/gateways/gw1/agents/echo')).body.status).toBe('blocked');
    expectStatus(await gw.admin('POST', '/gateways/gw1/agents/echo/unblock'), 200);
    expect((await fetch(`${proxy}/a`, { headers: { 'api-key': seeded.key } })).status).toBe(200);
  });

  it('limits requests per minute (429 + Retry-After) and a request quota (403), per project', async () => {
    const rpm = expectStatus(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'echo', project: 'p1', requestsPerMinute: 2 }), 201);
    expect(rpm.id).toMatch(/^agl_/);
    for (let i = 0; i < 2; i++) expect((await fetch(`${proxy}/limited`, { headers: { 'api-key': seeded.key } })).status).toBe(200);
    const res = await fetch(`${proxy}/limited`, { headers: { 'api-key': seeded.key } });
    expectError({ status: res.status, body: await res.json() }, 429, 'agent_rate_limit_exceeded');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);

    await gw.admin('PUT', '/gateways/gw1/agents/echo/projects/p2');
    expectStatus(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'echo', project: 'p2', requestQuota: 1, quotaPeriod: 'daily' }), 201);
    expect((await fetch(`${proxy}/q`, { headers: { 'api-key': otherKey } })).status).toBe(200);
    const over = await fetch(`${proxy}/q`, { headers: { 'api-key': otherKey } });
    expectError({ status: over.status, body: await over.json() }, 403, 'agent_quota_exceeded');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Raising the limit applies to the next request.
    expectStatus(await gw.admin('DELETE', `/gateways/gw1/agent-limits/${rpm.id}`), 204);
    expect((await fetch(`${proxy}/limited`, { headers: { 'api-key': seeded.key } })).status).toBe(200);
  });

  it('keeps a row per request in the logs (kind=agent) and counts outcomes in the metrics', async () => {
    let items: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100; i++) {
      items = (await gw.admin('GET', '/gateways/gw1/logs?kind=agent&limit=200')).body.items;
      if (items.some((r) => r.outcome === 'quota_exceeded') && items.some((r) => r.streamed === true)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(items.find((r) => r.method === 'PUT')).toMatchObject({ agent: 'echo', project: 'p1', status: 200, outcome: 'ok', streamed: false, rpcMethod: null });
    expect(items.find((r) => r.streamed === true)).toMatchObject({ method: 'GET', status: 200 });
    expect(items.find((r) => r.outcome === 'rate_limited')).toMatchObject({ status: 429, errorCode: 'agent_rate_limit_exceeded', project: 'p1' });
    expect(items.find((r) => r.outcome === 'quota_exceeded')).toMatchObject({ status: 403, errorCode: 'agent_quota_exceeded', project: 'p2' });
    expect(items.find((r) => r.errorCode === 'agent_access_denied')).toMatchObject({ project: 'p2', outcome: 'rejected' });
    const filtered = (await gw.admin('GET', '/gateways/gw1/logs?kind=agent&project=p2&outcome=quota_exceeded')).body.items as unknown[];
    expect(filtered).toHaveLength(1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_agent_requests_total\{gateway="gw1",agent="echo",project="p1",outcome="rate_limited"\} 1/);
    expect(metrics).toMatch(/tollgate_agent_requests_total\{gateway="gw1",agent="echo",project="p2",outcome="quota_exceeded"\} 1/);
  });
});

async function answer(res: Promise<Response>): Promise<{ status: number; body: unknown }> {
  const r = await res;
  return { status: r.status, body: await r.json() };
}
