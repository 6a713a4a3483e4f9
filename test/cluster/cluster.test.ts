import OpenAI from 'openai';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { startNode, uniquePrefix, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';
import { PrivateRedis } from '../support/redis-server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const messages = [{ role: 'user' as const, content: 'One count for every node.' }];
const PER_CALL = countChatPromptTokens(messages) + 10;

/**
 * Three nodes of one instance sharing PostgreSQL and Redis, traffic spread round-robin: limits
 * hold across nodes, and changes made through one node apply on the others within a second.
 */
describe('cluster: three nodes, one count', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const prefix = uniquePrefix();
  const nodes: ClusterNode[] = [];
  let key = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    const common = { databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: prefix, instance: 'pool-a' };
    // Start one node first (it migrates), then two more at once.
    nodes.push(await startNode(common));
    nodes.push(...(await Promise.all([startNode(common), startNode(common)])));
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/resources', { name: 'r1' })).status).toBe(201);
    expect((await n1.admin('POST', '/resources/r1/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 10 } })).status).toBe(201);
    expect((await n1.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-a' } })).status).toBe(201);
    key = (await n1.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    // Every node serves the project before traffic starts.
    await within(2000, async () => {
      const codes = await Promise.all(nodes.map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': key } }).then((r) => r.status)));
      return codes.every((c) => c === 200);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    await db?.drop();
  });

  const client = (node: ClusterNode, apiKey = key) => new OpenAI({ baseURL: `${node.url}/openai/v1`, apiKey, maxRetries: 0 });

  async function burst(n: number) {
    const clients = nodes.map((node) => client(node));
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => clients[i % clients.length]!.chat.completions.create({ model: 'sim', messages, max_tokens: 10 }).withResponse()),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const consumed = ok.reduce((s, r) => s + Number(r.value.response.headers.get('x-tokens-consumed')), 0);
    return { ok: ok.length, refused: results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { status?: number }).status), consumed };
  }

  it('the gateway of the instance is enabled once its nodes serve it', async () => {
    const gw = await nodes[0]!.admin('GET', '/gateways/gw1');
    expect(gw.body.status).toBe('enabled');
    const listed = (await nodes[1]!.admin('GET', '/nodes')).body.items as Array<{ instance: string; status: string }>;
    expect(listed.filter((n) => n.instance === 'pool-a' && n.status === 'live')).toHaveLength(3);
  });

  it('a TPM limit holds across nodes under 64 concurrent clients', async () => {
    const limit = await nodes[0]!.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 7 * PER_CALL + 3 });
    expect(limit.status).toBe(201);
    await within(1000, async () => nodes.every((n) => n.tollgate.snapshots.current.version === nodes[0]!.tollgate.snapshots.current.version));
    const { ok, refused, consumed } = await burst(64);
    expect(ok).toBe(7);
    expect(refused.every((s) => s === 429)).toBe(true);
    expect(consumed).toBeLessThanOrEqual(7 * PER_CALL + 3);
    await nodes[0]!.admin('DELETE', `/gateways/gw1/limits/${limit.body.id}`);
  });

  it('a quota holds across nodes under 64 concurrent clients', async () => {
    const limit = await nodes[1]!.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 5 * PER_CALL, quotaPeriod: 'monthly' });
    await within(1000, async () => nodes.every((n) => n.tollgate.snapshots.current.version === nodes[1]!.tollgate.snapshots.current.version));
    const { ok, refused, consumed } = await burst(64);
    expect(ok).toBe(5);
    expect(refused.every((s) => s === 403)).toBe(true);
    expect(consumed).toBe(5 * PER_CALL);
    const status = await nodes[2]!.admin('GET', `/gateways/gw1/limits/${limit.body.id}/status`);
    expect(status.body.quota.used).toBe(5 * PER_CALL);
    await nodes[1]!.admin('DELETE', `/gateways/gw1/limits/${limit.body.id}`);
  });

  it('a limit change made through node 1 applies on nodes 2 and 3 within a second', async () => {
    const limit = await nodes[0]!.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 1 });
    // tokensPerMinute 1: every request can never fit — visible on every node once it has the change.
    const took = await within(1000, async () => {
      const codes = await Promise.all(
        nodes.slice(1).map((n) => client(n).chat.completions.create({ model: 'sim', messages, max_tokens: 10 }).then(() => 200, (e: { status: number }) => e.status)),
      );
      return codes.every((c) => c === 429);
    });
    expect(took).toBeLessThan(1000);
    await nodes[0]!.admin('DELETE', `/gateways/gw1/limits/${limit.body.id}`);
  });

  it('a regenerated key stops working on every node within a second', async () => {
    const created = await nodes[0]!.admin('POST', '/resources/r1/projects', { name: 'p2' });
    const oldKey = created.body.keys.primary as string;
    await within(1000, async () => (await fetch(`${nodes[2]!.url}/openai/v1/models`, { headers: { 'api-key': oldKey } })).status === 200);
    await nodes[0]!.admin('POST', '/resources/r1/projects/p2/keys/primary/regenerate');
    const took = await within(1000, async () => {
      const codes = await Promise.all(nodes.slice(1).map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': oldKey } }).then((r) => r.status)));
      return codes.every((c) => c === 401);
    });
    expect(took).toBeLessThan(1000);
  });

  it('a gateway stays provisioning until a node of its instance starts', async () => {
    const n1 = nodes[0]!;
    await n1.admin('POST', '/resources', { name: 'r2' });
    await n1.admin('POST', '/instances', { name: 'pool-b' });
    const created = await n1.admin('POST', '/gateways', { name: 'gw2', resource: 'r2', instance: { mode: 'existing', name: 'pool-b' } });
    expect(created.body.status).toBe('provisioning');
    // No node serves pool-b: it stays provisioning.
    await new Promise((r) => setTimeout(r, 300));
    expect((await n1.admin('GET', '/gateways/gw2')).body.status).toBe('provisioning');
    const b = await startNode({ databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: prefix, instance: 'pool-b' });
    nodes.push(b);
    await within(3000, async () => (await n1.admin('GET', '/gateways/gw2')).body.status === 'enabled');
  });
});

describe('cluster: Redis goes away and comes back', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  let closed: ClusterNode;
  let open: ClusterNode;
  let key = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    const common = { databaseUrl: db.url, redisUrl: redis.url, redisPrefix: uniquePrefix(), instance: 'pool-a' };
    closed = await startNode({ ...common, settings: { limiterFailurePolicy: 'fail-closed' } });
    open = await startNode({ ...common, settings: { limiterFailurePolicy: 'fail-open', failOpenShare: 0.5 } });
    await closed.admin('POST', '/resources', { name: 'r1' });
    await closed.admin('POST', '/resources/r1/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 10 } });
    await closed.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-a' } });
    key = (await closed.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    await closed.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 100 * PER_CALL });
    await within(2000, async () => (await fetch(`${open.url}/openai/v1/models`, { headers: { 'api-key': key } })).status === 200);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([closed?.close(), open?.close()]);
    await redis?.down();
    await db?.drop();
  });

  const call = (node: ClusterNode) =>
    new OpenAI({ baseURL: `${node.url}/openai/v1`, apiKey: key, maxRetries: 0 }).chat.completions
      .create({ model: 'sim', messages, max_tokens: 10 })
      .then(
        () => ({ status: 200, code: null as string | null }),
        (e: { status: number; code: string }) => ({ status: e.status, code: e.code }),
      );
  const backendUp = async (node: ClusterNode) => /^tollgate_limiter_backend_up 1$/m.test(await (await fetch(`${node.url}/metrics`)).text());

  it('applies the configured policy while Redis is down, and recovers without a restart', async () => {
    expect(await call(closed)).toEqual({ status: 200, code: null });
    expect(await call(open)).toEqual({ status: 200, code: null });

    await redis.down();
    // fail-closed: 503 limiter_unavailable; fail-open: served by the local share of the limit.
    await within(3000, async () => (await call(closed)).code === 'limiter_unavailable');
    const res = await fetch(`${closed.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim', messages, max_tokens: 10 }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await call(open)).status).toBe(200);
    expect(await backendUp(open)).toBe(false);

    await redis.up();
    await within(5000, async () => (await call(closed)).status === 200 && (await backendUp(closed)));
    await within(5000, async () => (await call(open)).status === 200 && (await backendUp(open)));
  }, 30_000);
});
