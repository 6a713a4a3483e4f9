import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, within, type ClusterNode } from '../support/cluster.js';
import { createTestDatabase } from '../support/postgres.js';
import { PrivateRedis } from '../support/redis-server.js';

const TPM = 3000;
const QUOTA = 1500;
const BODY = (content: string) => ({ model: 'sim', messages: [{ role: 'user', content }], max_tokens: 20 });

interface Answer {
  status: number;
  code: string | null;
  tokens: number;
  atMs: number;
}

/**
 * Two nodes sharing PostgreSQL and a private redis-server, which is killed and started again
 * empty (no persistence) while the limits are spent: the counts come back from the ledger before
 * anything is admitted again, so a spent TPM window and a spent quota stay spent.
 */
describe('cluster: Redis restarted empty', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  const nodes: ClusterNode[] = [];
  const keys: Record<string, string> = {};

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
    await ok('POST', '/resources/r/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 20 } });
    await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'existing', name: 'pool' } });
    for (const name of ['rate', 'quota']) keys[name] = (await ok('POST', '/resources/r/projects', { name })).keys.primary;
    await ok('POST', '/gateways/gw/limits', { project: 'rate', tokensPerMinute: TPM });
    await ok('POST', '/gateways/gw/limits', { project: 'quota', tokenQuota: QUOTA, quotaPeriod: 'daily' });
    await within(5000, async () => {
      const codes = await Promise.all(nodes.map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': keys.quota! } }).then((r) => r.status)));
      return codes.every((c) => c === 200);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await redis?.down();
    await db?.drop();
  });

  let turn = 0;
  async function call(project: string): Promise<Answer> {
    const node = nodes[turn++ % nodes.length]!;
    const res = await fetch(`${node.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { 'api-key': keys[project]!, 'content-type': 'application/json' },
      body: JSON.stringify(BODY(`turn ${turn}`)),
    });
    const body = (await res.json()) as { error?: { code?: string } };
    return { status: res.status, code: body.error?.code ?? null, tokens: Number(res.headers.get('x-tokens-consumed') ?? 0), atMs: Date.now() };
  }

  /** Calls until the first answer that is not 503 (the nodes refuse while the counts are being rebuilt), bounded. */
  async function callPastOutage(project: string): Promise<{ answer: Answer; unavailable: number }> {
    let unavailable = 0;
    for (let i = 0; i < 200; i++) {
      const answer = await call(project);
      if (answer.status !== 503) return { answer, unavailable };
      expect(answer.code).toBe('limiter_unavailable');
      unavailable++;
      await sleep(50);
    }
    throw new Error('still 503 after 10 s');
  }

  it('keeps a spent TPM window and a spent quota spent; nothing is admitted before the counts are back', async () => {
    // Spend both: until the limits refuse.
    const admitted: Answer[] = [];
    for (let i = 0; i < 100; i++) {
      const a = await call('rate');
      if (a.status === 429) break;
      expect(a.status).toBe(200);
      admitted.push(a);
    }
    for (let i = 0; i < 100; i++) {
      const a = await call('quota');
      if (a.status === 403) break;
      expect(a.status).toBe(200);
    }
    expect((await call('rate')).status).toBe(429);
    expect((await call('quota')).code).toBe('token_quota_exceeded');

    await redis.down();
    await redis.up(); // empty: no persistence
    const upAt = Date.now();
    const probe = new Redis(redis.url);
    expect(await probe.dbsize()).toBe(0);
    probe.disconnect();

    const rate = await callPastOutage('rate');
    expect(rate.answer.status).toBe(429);
    expect(rate.answer.code).toBe('token_rate_limit_exceeded');
    process.stdout.write(`redis restarted empty: counts back ${rate.answer.atMs - upAt} ms after it listened (${rate.unavailable} requests answered 503 meanwhile)\n`);
    const quota = await callPastOutage('quota');
    expect(quota.answer.status).toBe(403);
    expect(quota.answer.code).toBe('token_quota_exceeded');
    // Both nodes refuse, whichever answers.
    for (let i = 0; i < 4; i++) expect((await call('quota')).code).toBe('token_quota_exceeded');
    for (let i = 0; i < 4; i++) expect((await call('rate')).status).toBe(429);

    // A flush without a restart (the connection stays up) is caught by the epoch check of every reserve.
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();
    const afterFlush = await callPastOutage('quota');
    expect(afterFlush.answer.code).toBe('token_quota_exceeded');

    // Over the minute since the first admission, no more than the TPM was admitted.
    const spentInWindow = admitted.filter((a) => a.atMs > Date.now() - 60_000).reduce((s, a) => s + a.tokens, 0);
    expect(spentInWindow).toBeLessThanOrEqual(TPM);
  }, 60_000);
});
