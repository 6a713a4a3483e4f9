import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';
import { PrivateRedis } from '../support/redis-server.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from '../mcp/mcp-upstream.js';

/**
 * A node on PostgreSQL and a private redis-server whose data is flushed while a call quota and a
 * per-minute call limit are spent: the call counts are re-seeded from the MCP call ledger before
 * anything is admitted again, so both stay spent.
 */
describe('cluster: MCP call counts after Redis lost them', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  let upstream: McpUpstream;
  let node: ClusterNode;
  let client: Client;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    node = await startNode({ databaseUrl: db.url, redisUrl: redis.url, redisPrefix: 'tg:', instance: 'pool' });
    const ok = async (method: string, p: string, body?: unknown) => {
      const res = await node.admin(method, p, body);
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await ok('POST', '/resources', { name: 'r' });
    await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'existing', name: 'pool' } });
    const key = (await ok('POST', '/resources/r/projects', { name: 'p' })).keys.primary;
    await ok('POST', '/resources/r/mcp-servers', { name: 'tools', url: upstream.url, upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN } });
    await ok('PUT', '/gateways/gw/mcp-servers/tools/projects/p', { tools: null });
    await ok('POST', '/gateways/gw/mcp-limits', { project: 'p', server: 'tools', tool: 'echo', callQuota: 3, quotaPeriod: 'daily' });
    await ok('POST', '/gateways/gw/mcp-limits', { project: 'p', server: 'tools', tool: 'add', callsPerMinute: 2 });
    client = new Client({ name: 'reseed-test', version: '1.0.0' });
    await within(5000, async () => node.tollgate.snapshots.current.version > 0);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.url}/mcp/tools`), { requestInit: { headers: { 'api-key': key } } }));
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => {});
    await node?.close();
    await redis?.down();
    await db?.drop();
    await upstream?.close();
  });

  const status = (p: Promise<unknown>) => p.then(
    () => 200,
    (e: { code?: number }) => e.code ?? 0,
  );
  const echo = () => status(client.callTool({ name: 'echo', arguments: { text: 'x' } }));
  const add = () => status(client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }));

  /** Calls until the first answer that is not 503 (refused while the counts are rebuilt), bounded. */
  async function pastOutage(call: () => Promise<number>): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const code = await call();
      if (code !== 503) return code;
      await sleep(50);
    }
    throw new Error('still 503 after 10 s');
  }

  it('keeps a spent call quota and a spent per-minute limit spent', async () => {
    expect([await echo(), await echo(), await echo(), await echo()]).toEqual([200, 200, 200, 403]);
    expect([await add(), await add(), await add()]).toEqual([200, 200, 429]);
    // The ledger has the calls (it is written every ledgerFlushMs): wait for them.
    await within(5000, async () => (await node.tollgate.store.mcp.countedCalls(0)).length >= 5);

    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();
    expect(await pastOutage(echo)).toBe(403);
    expect(await pastOutage(add)).toBe(429);
  }, 60_000);
});
