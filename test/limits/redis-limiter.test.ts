/**
 * The Redis limiter against the machine's Redis (127.0.0.1:6379): the shared limiter contract,
 * then what is specific to Redis. Every limiter gets its own key prefix under this run's prefix,
 * and every key of the run is unlinked at the end; nothing is flushed globally.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuotaPeriod } from '../../src/domain/model.js';
import type { LimitRule, Reservation } from '../../src/limits/limiter.js';
import { periodEnd, periodStart } from '../../src/limits/quota-period.js';
import { RedisLimiter } from '../../src/limits/redis-limiter.js';
import { limiterContract, prng, uniqueRuleId } from '../contracts/limiter-contract.js';

const RUN_PREFIX = `tollgate-test:${randomBytes(4).toString('hex')}:`;
let prefixSeq = 0;
const uniquePrefix = () => `${RUN_PREFIX}${++prefixSeq}:`;

function client(): Redis {
  return new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
}

const redis = client();
const extra: Redis[] = [];

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 100_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return found;
}

beforeAll(async () => {
  expect(await redis.ping()).toBe('PONG');
});

afterAll(async () => {
  const keys = await keysUnder(RUN_PREFIX);
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
  await Promise.all([redis, ...extra].map((c) => c.quit()));
});

limiterContract('RedisLimiter', async (clock, opts) => new RedisLimiter({ redis, keyPrefix: uniquePrefix(), reservationTtlMs: opts.reservationTtlMs, clock }));

function rule(values: { tpm?: number; quota?: number; period?: QuotaPeriod }, id = uniqueRuleId('redis')): LimitRule {
  return { id, tokensPerMinute: values.tpm ?? null, tokenQuota: values.quota ?? null, quotaPeriod: values.quota === undefined ? null : (values.period ?? 'daily') };
}

async function admit(limiter: RedisLimiter, rules: readonly LimitRule[], tokens: number): Promise<Reservation> {
  const r = await limiter.reserve(rules, tokens);
  if (!r.ok) throw new Error(`refused: ${r.kind} ${r.retryAfterSeconds}`);
  return r.reservation;
}

describe('RedisLimiter on Redis', () => {
  it('recovers from NOSCRIPT: after SCRIPT FLUSH, every script reloads itself', async () => {
    const limiter = new RedisLimiter({ redis, keyPrefix: uniquePrefix() });
    const r = rule({ tpm: 1000, quota: 1000 });
    const first = await admit(limiter, [r], 10);
    await redis.script('FLUSH');
    const second = await admit(limiter, [r], 20); // reserve
    await redis.script('FLUSH');
    await limiter.settle(first, 5); // settle
    await redis.script('FLUSH');
    await limiter.release(second); // release (the settle script again)
    await redis.script('FLUSH');
    expect(await limiter.peek(r)).toMatchObject({ tpm: { used: 5 }, quota: { used: 5 } }); // peek
  });

  it('keys are hash-tagged per limit and all expire', async () => {
    const prefix = uniquePrefix();
    const limiter = new RedisLimiter({ redis, keyPrefix: prefix });
    const a = rule({ tpm: 1000, quota: 5000, period: 'hourly' });
    const b = rule({ tpm: 2000 });
    await admit(limiter, [a, b], 100);
    const keys = (await keysUnder(prefix)).sort();
    expect(keys).toEqual([`${prefix}{lim:${a.id}}:q`, `${prefix}{lim:${a.id}}:r`, `${prefix}{lim:${a.id}}:w`, `${prefix}{lim:${b.id}}:r`, `${prefix}{lim:${b.id}}:w`].sort());
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      if (key.endsWith(':w')) {
        expect(ttl, key).toBeGreaterThan(59_000);
        expect(ttl, key).toBeLessThanOrEqual(61_000);
      }
      if (key.endsWith(':q')) expect(ttl, key).toBeLessThanOrEqual(3_600_000 + 15 * 60_000 + 3_600_000); // ≤ period end + TTL + 1 h
      if (key.endsWith(':r')) expect(ttl, key).toBeGreaterThan(15 * 60_000); // outlives its reservations
    }
  });

  it('with slotTag, every key of a request shares one tag (what Redis Cluster needs)', async () => {
    const prefix = uniquePrefix();
    const limiter = new RedisLimiter({ redis, keyPrefix: prefix, slotTag: () => 'prj:p1' });
    const a = rule({ tpm: 1000 });
    const b = rule({ quota: 1000 });
    const res = await admit(limiter, [a, b], 10);
    const keys = await keysUnder(prefix);
    expect(keys.length).toBe(5);
    for (const key of keys) expect(key.startsWith(`${prefix}{prj:p1}:lim:`), key).toBe(true);
    await limiter.settle(res, 4);
    expect(await limiter.peek(b)).toMatchObject({ quota: { used: 4 } });
  });

  it('refuses to run on a Cluster without slotTag, and a request whose limits span tags', async () => {
    const fakeCluster = { isCluster: true } as unknown as Redis;
    expect(() => new RedisLimiter({ redis: fakeCluster, keyPrefix: 'x:' })).toThrow(/slotTag/);
    const limiter = new RedisLimiter({ redis: fakeCluster, keyPrefix: 'x:', slotTag: (r) => r.id });
    await expect(limiter.reserve([rule({ tpm: 1 }), rule({ tpm: 1 })], 1)).rejects.toThrow(/different slot tags/);
  });

  it("uses Redis's clock when no clock is given", async () => {
    const limiter = new RedisLimiter({ redis, keyPrefix: uniquePrefix() });
    const r = rule({ tpm: 1000, quota: 1000, period: 'daily' });
    const before = Date.now();
    const reserved = await limiter.reserve([r], 100);
    expect(reserved.ok).toBe(true);
    const status = await limiter.peek(r);
    const after = Date.now();
    // Admitted in the current second: the window empties 60 s after it.
    expect(status.tpm!.used).toBe(100);
    expect(status.tpm!.resetAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 60_000 - 1000);
    expect(status.tpm!.resetAt).toBeLessThanOrEqual(Math.floor(after / 1000) * 1000 + 60_000 + 1000);
    expect(status.quota!.periodStart).toBe(periodStart('daily', after));
  });

  it('computes quota periods in Lua exactly as quota-period.ts does', async () => {
    let now = 0;
    const limiter = new RedisLimiter({ redis, keyPrefix: uniquePrefix(), clock: () => now });
    const random = prng(99);
    const periods: QuotaPeriod[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
    // Random instants from 1970 to 2200, plus edges around period boundaries.
    const instants: number[] = [0, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 11, 31, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 12)];
    for (let i = 0; i < 150; i++) instants.push(Math.floor(random() * Date.UTC(2200, 0, 1)));
    for (const period of periods) {
      for (const base of instants.slice(0, 30)) {
        const start = periodStart(period, base);
        instants.push(start, start - 1, periodEnd(period, start) - 1);
      }
    }
    const r = rule({ quota: 10, period: 'daily' }, uniqueRuleId('periods'));
    for (const instant of instants) {
      if (instant < 0) continue;
      now = instant;
      for (const period of periods) {
        const p = { ...r, quotaPeriod: period };
        const start = periodStart(period, instant);
        const status = await limiter.peek(p);
        expect(status.quota?.periodStart, `${period} at ${new Date(instant).toISOString()}`).toBe(start);
        // A request larger than the quota: the refusal's periodEnd is computed in Lua.
        const refused = await limiter.reserve([p], 11);
        expect(refused.ok).toBe(false);
        if (!refused.ok) expect(refused.periodEnd, `${period} end at ${new Date(instant).toISOString()}`).toBe(periodEnd(period, start));
      }
    }
  });

  it('two nodes (two clients) sharing a prefix share one count: 64 concurrent reserves never overshoot', async () => {
    const other = client();
    extra.push(other);
    const prefix = uniquePrefix();
    const nodeA = new RedisLimiter({ redis, keyPrefix: prefix });
    const nodeB = new RedisLimiter({ redis: other, keyPrefix: prefix });
    const tpm = rule({ tpm: 1000 });
    const quota = rule({ quota: 1500, period: 'monthly' });
    const random = prng(2);
    const calls = Array.from({ length: 64 }, (_, i) => ({ node: i % 2 === 0 ? nodeA : nodeB, tokens: 10 + Math.floor(random() * 60), rules: i % 3 === 0 ? [quota] : [tpm, quota] }));
    const results = await Promise.all(calls.map((c) => c.node.reserve(c.rules, c.tokens)));
    let sumTpm = 0;
    let sumQuota = 0;
    let refused = 0;
    results.forEach((r, i) => {
      const c = calls[i]!;
      if (!r.ok) {
        refused++;
        return;
      }
      sumQuota += c.tokens;
      if (c.rules.includes(tpm)) sumTpm += c.tokens;
    });
    expect(refused).toBeGreaterThan(0);
    expect(sumTpm).toBeLessThanOrEqual(1000);
    expect(sumQuota).toBeLessThanOrEqual(1500);
    // Either node sees the same count.
    expect((await nodeA.peek(tpm)).tpm!.used).toBe(sumTpm);
    expect((await nodeB.peek(tpm)).tpm!.used).toBe(sumTpm);
    expect((await nodeB.peek(quota)).quota!.used).toBe(sumQuota);
    // A reservation made on one node can be settled on the other.
    const res = results.find((r) => r.ok);
    if (res?.ok) {
      await nodeB.release(res.reservation);
      await nodeA.release(res.reservation);
      expect((await nodeA.peek(quota)).quota!.used).toBe(sumQuota - res.reservation.tokens);
    }
  });

  it('a node that crashed leaves no hold behind: another node releases its reservations after the TTL', async () => {
    let now = Date.UTC(2030, 0, 7, 12);
    const clock = () => now;
    const prefix = uniquePrefix();
    const crashed = new RedisLimiter({ redis, keyPrefix: prefix, clock, reservationTtlMs: 10_000 });
    const survivor = new RedisLimiter({ redis, keyPrefix: prefix, clock, reservationTtlMs: 10_000 });
    const r = rule({ quota: 100, period: 'weekly' });
    const lost = await admit(crashed, [r], 100);
    expect((await survivor.reserve([r], 1)).ok).toBe(false);
    now += 10_001;
    await admit(survivor, [r], 100);
    expect((await survivor.peek(r)).quota!.used).toBe(100);
    // The late settle (from a node that came back) is charged in full, once.
    await crashed.settle(lost, 30);
    await crashed.settle(lost, 30);
    expect((await survivor.peek(r)).quota!.used).toBe(130);
  });

  it('reservation ids do not collide across limiters; duplicate rules in one request are charged twice, as in memory', async () => {
    const limiter = new RedisLimiter({ redis, keyPrefix: uniquePrefix() });
    const r = rule({ tpm: 1000, quota: 1000 });
    const res = await admit(limiter, [r, r], 10);
    expect(await limiter.peek(r)).toMatchObject({ tpm: { used: 20 }, quota: { used: 20 } });
    await limiter.settle(res, 4);
    expect(await limiter.peek(r)).toMatchObject({ tpm: { used: 8 }, quota: { used: 8 } });
  });
});
