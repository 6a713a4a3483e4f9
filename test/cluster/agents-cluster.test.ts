import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpAgent, type TestHttpAgent } from '../agents/http-agent.js';
import { startNode, uniquePrefix, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Two nodes of one instance (PostgreSQL + Redis): a block made through one node refuses the agent
 * on both within a second, an unblock restores it as fast, and an agent limit is one count.
 */
describe('cluster: agents on two nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = uniquePrefix();
  const nodes: ClusterNode[] = [];
  let agent: TestHttpAgent;
  let key = '';

  const status = (node: ClusterNode) => fetch(`${node.url}/agents/echo/ping`, { headers: { 'api-key': key } }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }));

  beforeAll(async () => {
    agent = await startHttpAgent();
    db = await createTestDatabase();
    const common = { databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: prefix, instance: 'pool-agents' };
    nodes.push(await startNode(common));
    nodes.push(await startNode(common));
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/resources', { name: 'r1' })).status).toBe(201);
    expect((await n1.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-agents' } })).status).toBe(201);
    key = (await n1.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    expect((await n1.admin('POST', '/gateways/gw1/agents', { name: 'echo', project: 'p1', url: agent.url })).status).toBe(201);
    await within(5000, async () => (await Promise.all(nodes.map(status))).every((s) => s.status === 200));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    await db?.drop();
    await agent?.close();
  });

  it('a block through node 1 refuses on both nodes within 1 s; an unblock through node 2 restores both as fast', async () => {
    expect((await nodes[0]!.admin('POST', '/gateways/gw1/agents/echo/block')).status).toBe(200);
    await within(1000, async () => (await Promise.all(nodes.map(status))).every((s) => s.status === 403 && s.body.error?.code === 'agent_blocked'));
    expect((await nodes[1]!.admin('GET', '/gateways/gw1/agents/echo')).body.status).toBe('blocked');

    expect((await nodes[1]!.admin('POST', '/gateways/gw1/agents/echo/unblock')).status).toBe(200);
    await within(1000, async () => (await Promise.all(nodes.map(status))).every((s) => s.status === 200));
  });

  it('a spent request quota stays spent when Redis loses its counts: re-seeded from the agent ledger', async () => {
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/gateways/gw1/agents', { name: 'quota-echo', project: 'p1', url: agent.url })).status).toBe(201);
    expect((await n1.admin('POST', '/gateways/gw1/agent-limits', { agent: 'quota-echo', project: 'p1', requestQuota: 2, quotaPeriod: 'yearly' })).status).toBe(201);
    const call = (node: ClusterNode) => fetch(`${node.url}/agents/quota-echo/x`, { headers: { 'api-key': key } }).then((r) => r.status);
    await within(2000, async () => (await call(nodes[1]!)) !== 404);
    // (the probe above may have used one request already)
    const codes = [await call(nodes[0]!), await call(nodes[1]!), await call(nodes[0]!)];
    expect(codes.filter((c) => c === 403).length).toBeGreaterThanOrEqual(1);
    // Both counted rows are in the agent ledger before Redis forgets.
    await within(5000, async () => {
      const items = (await n1.admin('GET', '/gateways/gw1/logs?kind=agent&agent=quota-echo&outcome=ok')).body.items as unknown[];
      return items.length === 2;
    });
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    const seen: number[] = [];
    await within(10_000, async () => {
      const status = await call(nodes[1]!);
      seen.push(status);
      return status === 403;
    });
    // Never admitted while Redis was re-seeded: refused for the limiter (503) at most, then for the quota.
    expect(seen.filter((s) => s === 200)).toEqual([]);
  }, 30_000);

  it('a requests-per-minute limit is one count across the nodes', async () => {
    expect((await nodes[0]!.admin('POST', '/gateways/gw1/agent-limits', { agent: 'echo', project: 'p1', requestsPerMinute: 4 })).status).toBe(201);
    await within(1000, async () => nodes.every((n) => n.tollgate.snapshots.current.version === nodes[0]!.tollgate.snapshots.current.version));
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await status(nodes[i % 2]!)).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(4);
    expect(codes.filter((c) => c === 429)).toHaveLength(4);
  });
});
