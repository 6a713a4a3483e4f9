import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, uniquePrefix, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from '../mcp/mcp-upstream.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Two nodes of one instance (PostgreSQL + Redis): a block made through one node refuses MCP calls
 * on the other within a second, and a per-minute call limit is one count across both.
 */
describe('cluster: MCP servers on two nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let upstream: McpUpstream;
  const prefix = uniquePrefix();
  const nodes: ClusterNode[] = [];
  const clients: Client[] = [];
  let key = '';

  const connect = async (node: ClusterNode): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${node.url}/mcp/tools`), { requestInit: { headers: { 'api-key': key } } });
    const client = new Client({ name: 'cluster-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  const statusOf = (p: Promise<unknown>) => p.then(
    () => 200,
    (e: { code?: number }) => e.code ?? 0,
  );

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    db = await createTestDatabase();
    const common = { databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: prefix, instance: 'pool-m' };
    nodes.push(await startNode(common));
    nodes.push(await startNode(common));
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/resources', { name: 'r1' })).status).toBe(201);
    expect((await n1.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-m' } })).status).toBe(201);
    key = (await n1.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    expect((await n1.admin('POST', '/resources/r1/mcp-servers', { name: 'tools', url: upstream.url, upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN } })).status).toBe(201);
    expect((await n1.admin('PUT', '/gateways/gw1/mcp-servers/tools/projects/p1', { tools: null })).status).toBe(200);
    // Both nodes serve the grant before the test starts.
    await within(5000, async () => {
      const codes = await Promise.all(nodes.map((n) => statusOf(connect(n))));
      return codes.every((c) => c === 200);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(nodes.map((n) => n.close()));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    await db?.drop();
    await upstream?.close();
  });

  it('a block through one node refuses on the other within a second, and an unblock admits again', async () => {
    const onB = await connect(nodes[1]!);
    expect((await onB.listTools()).tools.length).toBe(4);
    expect((await nodes[0]!.admin('POST', '/resources/r1/mcp-servers/tools/block')).status).toBe(200);
    await within(1000, async () => (await statusOf(onB.listTools())) === 403);
    expect((await nodes[0]!.admin('POST', '/resources/r1/mcp-servers/tools/unblock')).status).toBe(200);
    await within(1000, async () => (await statusOf(onB.listTools())) === 200);
  });

  it('counts calls per minute once across the nodes', async () => {
    const limit = await nodes[0]!.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'tools', tool: 'add', callsPerMinute: 3 });
    expect(limit.status).toBe(201);
    const [a, b] = [await connect(nodes[0]!), await connect(nodes[1]!)];
    // The limit reached node B too (it applies from its next config version).
    const version = nodes[0]!.tollgate.snapshots.current.version;
    await within(1000, async () => nodes[1]!.tollgate.snapshots.current.version >= version);
    const results: number[] = [];
    for (let i = 0; i < 6; i++) results.push(await statusOf((i % 2 === 0 ? a : b).callTool({ name: 'add', arguments: { a: i, b: 1 } })));
    expect(results.filter((s) => s === 200).length).toBe(3);
    expect(results.filter((s) => s === 429).length).toBe(3);
  });
});
