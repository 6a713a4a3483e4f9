import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';
import { PrivateRedis } from '../support/redis-server.js';

/** 0.02 USD per day at 2.5 / 10 USD per million tokens: a few dozen requests. */
const BUDGET_MICROS = 20_000;

/**
 * Two nodes sharing PostgreSQL and a private Redis: one money budget, one count. 64 concurrent
 * clients spread over both nodes never push the spend the ledger records over the budget; a
 * Redis that loses its data is re-seeded with the spend from the ledger, so a spent budget
 * stays spent.
 */
describe('cluster: a money budget across two nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  const nodes: ClusterNode[] = [];
  let key = '';
  let limitId = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await PrivateRedis.start();
    const common = { databaseUrl: db.url, redisUrl: redis.url, redisPrefix: 'tg:', instance: 'pool' };
    nodes.push(await startNode(common));
    nodes.push(await startNode(common));
    const n1 = nodes[0]!;
    const ok = async (method: string, p: string, body?: unknown) => {
      const res = await n1.admin(method, p, body);
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await ok('POST', '/resources', { name: 'r' });
    await ok('POST', '/resources/r/deployments', {
      name: 'sim',
      provider: 'simulated',
      options: { completionTokens: 25 },
      pricing: { currency: 'USD', inputPerMillion: 2.5, outputPerMillion: '10.000' },
    });
    await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'existing', name: 'pool' } });
    key = (await ok('POST', '/resources/r/projects', { name: 'p' })).keys.primary;
    limitId = (await ok('POST', '/gateways/gw/limits', { project: 'p', deployment: 'sim', budget: { amount: '0.02', currency: 'USD', period: 'daily' } })).id;
    await within(5000, async () => {
      const codes = await Promise.all(nodes.map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': key } }).then((r) => r.status)));
      return codes.every((c) => c === 200) && nodes.every((n) => n.tollgate.snapshots.current.version === nodes[0]!.tollgate.snapshots.current.version);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await redis?.down();
    await db?.drop();
  });

  let turn = 0;
  async function call(on?: ClusterNode): Promise<{ status: number; code: string | null; message: string }> {
    const node = on ?? nodes[turn++ % nodes.length]!;
    const res = await fetch(`${node.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: `call ${turn}` }], max_tokens: 30 }),
    });
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    return { status: res.status, code: body.error?.code ?? null, message: body.error?.message ?? '' };
  }

  async function ledgerSpend(): Promise<number> {
    for (const n of nodes) await n.tollgate.ledger!.flush();
    // The ledger files a gateway's rows under its id.
    const gatewayId = (await nodes[0]!.tollgate.store.findGateway('gw'))!.id;
    const entries = await nodes[0]!.tollgate.store.usage.logs({ gateway: gatewayId, limit: 10_000 });
    return entries.filter((e) => e.currency === 'USD').reduce((s, e) => s + (e.costMicros ?? 0), 0);
  }

  it('64 concurrent clients on two nodes never push the ledger over the budget; a Redis that lost its data keeps it spent', async () => {
    const answers: Array<{ status: number; code: string | null; message: string }> = [];
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = 0; i < 4; i++) {
          const a = await call();
          answers.push(a);
          if (a.status !== 200) return;
        }
      }),
    );
    const admitted = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status !== 200);
    expect(admitted).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.status).toBe(403);
      expect(r.code).toBe('budget_exceeded');
      expect(r.message).toMatch(/budget of 0\.020000 USD per day is spent/);
    }
    const spent = await ledgerSpend();
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(BUDGET_MICROS);
    const status = await nodes[1]!.admin('GET', `/gateways/gw/limits/${limitId}/status`);
    expect(status.body.budget.spent.micros).toBe(spent);
    expect(status.body.budget.remaining.micros).toBe(BUDGET_MICROS - spent);

    // Redis loses everything: the spend comes back from the ledger before anything is admitted.
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();
    let answer = await call();
    for (let i = 0; i < 200 && answer.status === 503; i++) {
      expect(answer.code).toBe('limiter_unavailable');
      await sleep(50);
      answer = await call();
    }
    expect(answer.code).toBe('budget_exceeded');
    expect(await ledgerSpend()).toBe(spent);
    // Every node refuses too once it has re-seeded (a node that found Redis without counts answers
    // 503 until then, and reports its standing from its local fallback), and then reports the spend.
    for (const node of nodes) {
      let mine = await call(node);
      for (let i = 0; i < 200 && mine.status === 503; i++) {
        await sleep(50);
        mine = await call(node);
      }
      expect(mine.code).toBe('budget_exceeded');
      const after = await node.admin('GET', `/gateways/gw/limits/${limitId}/status`);
      expect(after.body.budget.spent.micros).toBe(spent);
    }
  }, 60_000);
});
