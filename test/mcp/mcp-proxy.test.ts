import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from './mcp-upstream.js';

/** The JSON-RPC error body the SDK's StreamableHTTPError quotes in its message. */
const rpcErrorOf = (e: Error) => JSON.parse(e.message.slice(e.message.indexOf('{'))) as { error: { message: string; data: { code: string } } };

/** The last HTTP answer the client got: the SDK's errors carry the status, not the headers. */
interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
  last: () => Response | null;
}

describe('MCP servers through the gateway (official SDK on both sides)', () => {
  let gw: TestGateway;
  let seed: Seeded;
  let upstream: McpUpstream;
  const open: Client[] = [];

  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  async function connect(key = seed.key, server = 'tools'): Promise<Connected> {
    let last: Response | null = null;
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/${server}`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
      fetch: async (input, init) => (last = await fetch(input, init)),
    });
    const client = new Client({ name: 'test-client', version: '1.0.0' });
    await client.connect(transport);
    open.push(client);
    return { client, transport, last: () => last };
  }

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    gw = await startGateway();
    seed = await seedBasic(gw);
    ok(
      await gw.admin('POST', '/resources/r1/mcp-servers', {
        name: 'tools',
        url: upstream.url,
        upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN },
        description: 'test tools',
      }),
      'server',
    );
    ok(await gw.admin('PUT', '/gateways/gw1/mcp-servers/tools/projects/p1', { tools: ['echo', 'add', 'countdown'] }), 'grant');
  }, 60_000);

  afterEach(async () => {
    while (open.length > 0) await open.pop()!.close().catch(() => {});
  });

  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('lists only the allowed tools and answers an allowed call', async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'countdown', 'echo']);
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
  });

  it('refuses a tool not on the allow-list without calling the upstream, naming the tool and the project', async () => {
    const { client, last } = await connect();
    const before = upstream.calls.length;
    const error = await client.callTool({ name: 'secret', arguments: {} }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(error).not.toBeNull();
    expect(error!.code).toBe(403);
    const body = rpcErrorOf(error!);
    expect(body.error.message).toContain('"secret"');
    expect(body.error.message).toContain('"p1"');
    expect(body.error.data.code).toBe('mcp_access_denied');
    expect(last()!.status).toBe(403);
    expect(upstream.calls.length).toBe(before);
  });

  it('injects the upstream credential and never forwards the client key', async () => {
    const from = upstream.seen.length;
    const { client } = await connect(seed.secondaryKey);
    await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    const seen = upstream.seen.slice(from);
    expect(seen.length).toBeGreaterThan(0);
    for (const headers of seen) {
      expect(headers.authorization).toBe(`Bearer ${UPSTREAM_TOKEN}`);
      expect(JSON.stringify(headers)).not.toContain(seed.secondaryKey);
      expect(headers['api-key']).toBeUndefined();
      expect(headers['x-api-key']).toBeUndefined();
    }
  });

  it('keeps the session: the upstream session id reaches the client and comes back on every request', async () => {
    const from = upstream.seen.length;
    const { client, transport } = await connect();
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await client.listTools();
    await client.callTool({ name: 'echo', arguments: { text: 'again' } });
    const after = upstream.seen.slice(from + 1); // all but the initialize request
    expect(after.length).toBeGreaterThan(1);
    for (const headers of after) if (headers['mcp-session-id'] !== undefined) expect(headers['mcp-session-id']).toBe(transport.sessionId);
    expect(after.filter((h) => h['mcp-session-id'] === transport.sessionId).length).toBeGreaterThanOrEqual(2);
    await transport.terminateSession();
  });

  it('streams progress notifications as they come: the first arrives before the tool can finish', async () => {
    const { client } = await connect();
    const progress: number[] = [];
    const result = await client.callTool({ name: 'countdown', arguments: {} }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        // The tool waits for this: a proxy that held the stream until its end would never get here.
        if (p.progress === 1) upstream.openGate();
      },
      timeout: 30_000,
    });
    expect(progress).toEqual([1, 2]);
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
  });

  it('refuses with 429 and Retry-After past the per-minute count, and 403 once the quota is spent', async () => {
    const perMinute = ok(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'tools', tool: 'echo', callsPerMinute: 2 }), 'limit');
    const { client, last } = await connect();
    await client.callTool({ name: 'echo', arguments: { text: '1' } });
    await client.callTool({ name: 'echo', arguments: { text: '2' } });
    const limited = await client.callTool({ name: 'echo', arguments: { text: '3' } }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(limited?.code).toBe(429);
    expect(limited?.message).toContain('tool_rate_limit_exceeded');
    expect(Number(last()!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other tools are not limited by the echo limit.
    await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
    const status = ok(await gw.admin('GET', `/gateways/gw1/mcp-limits/${perMinute.id}/status`), 'status');
    expect(status.perMinute).toMatchObject({ limit: 2, used: 2, remaining: 0 });
    ok(await gw.admin('DELETE', `/gateways/gw1/mcp-limits/${perMinute.id}`), 'delete');

    // A quota on every tool of the server (one tool was called before it existed: not counted).
    ok(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'tools', callQuota: 2, quotaPeriod: 'daily' }), 'quota');
    await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
    await client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const spent = await client.callTool({ name: 'add', arguments: { a: 1, b: 3 } }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(spent?.code).toBe(403);
    expect(spent?.message).toContain('tool_quota_exceeded');
    expect(Number(last()!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Listing tools is not a call: it goes through.
    expect((await client.listTools()).tools.length).toBe(3);
    const limits = ok(await gw.admin('GET', '/gateways/gw1/mcp-limits'), 'limits');
    for (const l of limits.items) ok(await gw.admin('DELETE', `/gateways/gw1/mcp-limits/${l.id}`), 'delete');
  });

  it('blocks and unblocks the server', async () => {
    const { client } = await connect();
    ok(await gw.admin('POST', '/resources/r1/mcp-servers/tools/block'), 'block');
    const blocked = await client.listTools().then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(blocked?.code).toBe(403);
    expect(blocked?.message).toContain('mcp_server_blocked');
    const view = ok(await gw.admin('GET', '/resources/r1/mcp-servers/tools'), 'get');
    expect(view.status).toBe('blocked');
    ok(await gw.admin('POST', '/resources/r1/mcp-servers/tools/unblock'), 'unblock');
    expect((await client.listTools()).tools.length).toBe(3);
  });

  it('refuses a project without a grant (403 mcp_access_denied) and a wrong key (401)', async () => {
    const other = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 'project');
    const denied = await connect(other.keys.primary).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(denied?.code).toBe(403);
    expect(denied?.message).toContain('mcp_access_denied');
    expect(rpcErrorOf(denied!).error.message).toContain('"p2"');
    const res = await fetch(`${gw.url}/mcp/tools`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { data: { code: 'invalid_api_key' } } });
  });

  it('filters tool lists answered as JSON too', async () => {
    const jsonUpstream = await startMcpUpstream({ jsonResponses: true });
    try {
      ok(await gw.admin('POST', '/resources/r1/mcp-servers', { name: 'json-tools', url: jsonUpstream.url, upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN } }), 'server');
      ok(await gw.admin('PUT', '/gateways/gw1/mcp-servers/json-tools/projects/p1', { tools: ['echo'] }), 'grant');
      const { client, last } = await connect(seed.key, 'json-tools');
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      expect(last()!.headers.get('content-type')).toContain('application/json');
      expect((await client.callTool({ name: 'echo', arguments: { text: 'j' } })).content).toEqual([{ type: 'text', text: 'echo: j' }]);
      await client.close();
    } finally {
      await jsonUpstream.close();
    }
  });

  it('shows the calls in the logs, the usage by tool and the metrics', async () => {
    const { client, transport } = await connect();
    await client.callTool({ name: 'echo', arguments: { text: 'logged' } });
    await client.callTool({ name: 'secret', arguments: {} }).catch(() => undefined);
    // The ledger is written off the request path, every ledgerFlushMs: wait for the rows (bounded).
    let items: any[] = [];
    for (let i = 0; i < 200; i++) {
      items = ok(await gw.admin('GET', '/gateways/gw1/logs?kind=mcp&limit=500'), 'logs').items;
      if (items.some((e) => e.tool === 'secret' && e.session === transport.sessionId)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const mine = items.filter((e) => e.session === transport.sessionId);
    const echo = mine.find((e) => e.tool === 'echo');
    expect(echo).toMatchObject({ project: 'p1', server: 'tools', method: 'tools/call', status: 200, outcome: 'ok', errorCode: null });
    expect(echo.latencyMs).toBeGreaterThan(0);
    expect(mine.find((e) => e.tool === 'secret')).toMatchObject({ method: 'tools/call', status: 403, outcome: 'rejected', errorCode: 'mcp_access_denied' });
    expect(mine.some((e) => e.method === 'initialize')).toBe(true);
    const tools = ok(await gw.admin('GET', '/gateways/gw1/logs?kind=mcp&tool=secret'), 'filtered').items;
    expect(tools.every((e: { tool: string }) => e.tool === 'secret')).toBe(true);
    // The token ledger is untouched by MCP calls (kind defaults to the model requests).
    const tokenLogs = ok(await gw.admin('GET', '/gateways/gw1/logs'), 'token logs').items;
    expect(tokenLogs.every((e: { operation?: string }) => typeof e.operation === 'string')).toBe(true);

    const usage = ok(await gw.admin('GET', '/gateways/gw1/usage?kind=mcp&groupBy=tool'), 'usage');
    expect(usage).toMatchObject({ kind: 'mcp', gateway: 'gw1', groupBy: 'tool' });
    const echoSeries = usage.series.find((s: { tool: string }) => s.tool === 'echo');
    const echoCalls = echoSeries.points.reduce((n: number, p: { calls: { total: number } }) => n + p.calls.total, 0);
    expect(echoCalls).toBe(items.filter((e) => e.tool === 'echo').length);
    expect(usage.totals.calls.rejected).toBeGreaterThanOrEqual(1);
    expect((await gw.admin('GET', '/gateways/gw1/usage?kind=mcp&groupBy=deployment')).status).toBe(400);

    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_mcp_calls_total\{gateway="gw1",project="p1",server="tools",tool="echo",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_mcp_calls_total\{gateway="gw1",project="p1",server="tools",tool="\(not allowed\)",outcome="rejected"\} [1-9]/);
  });

  it('a client that leaves mid-stream is logged as client_aborted, and its call still counts', async () => {
    const { transport } = await connect();
    const limit = ok(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'tools', tool: 'countdown', callsPerMinute: 10 }), 'limit');
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/mcp/tools`, {
      method: 'POST',
      signal: abort.signal,
      headers: {
        authorization: `Bearer ${seed.key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'leave-1', method: 'tools/call', params: { name: 'countdown', arguments: {}, _meta: { progressToken: 'p-leave' } } }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('notifications/progress');
    abort.abort();
    let rows: any[] = [];
    for (let i = 0; i < 200 && !rows.some((e) => e.outcome === 'client_aborted'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      rows = ok(await gw.admin('GET', `/gateways/gw1/logs?kind=mcp&tool=countdown&limit=50`), 'logs').items;
    }
    expect(rows.find((e) => e.outcome === 'client_aborted')).toMatchObject({ method: 'tools/call', tool: 'countdown', session: transport.sessionId });
    const status = ok(await gw.admin('GET', `/gateways/gw1/mcp-limits/${limit.id}/status`), 'status');
    expect(status.perMinute.used).toBe(1);
    upstream.openGate(); // let the upstream tool finish
    ok(await gw.admin('DELETE', `/gateways/gw1/mcp-limits/${limit.id}`), 'delete');
  });

  it('refuses a body nested too deep, and answers without a key at once, as JSON-RPC errors', async () => {
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":${'['.repeat(500)}${']'.repeat(500)}}}`;
    const res = await fetch(`${gw.url}/mcp/tools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seed.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('invalid_request');
    const anonymous = await fetch(`${gw.url}/mcp/tools`, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('connection')).toBe('close');
    expect(((await anonymous.json()) as { error: { data: { code: string } } }).error.data.code).toBe('invalid_api_key');
  });

  it('refuses JSON-RPC batches clearly', async () => {
    const res = await fetch(`${gw.url}/mcp/tools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seed.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list' }]),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.message).toContain('batches are not supported');
    expect(body.error.data.code).toBe('invalid_request');
  });
});
