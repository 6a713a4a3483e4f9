import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisBreakerStates } from '../../../src/dataplane/backends/redis-breaker-states.js';
import { breakerPolicy } from '../../../src/snapshot/backend-policy.js';
import { breakerContract } from '../../contracts/breaker-contract.js';
import { uniquePrefix, within } from '../../support/cluster.js';
import { PrivateRedis } from '../../support/redis-server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const policy = breakerPolicy({ failures: 3, intervalSeconds: 10, tripSeconds: 30 });
const K = 'dep/a';
const failFast = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 500, commandTimeout: 500 } as const;

/** Log lines at error and warn, to count what the breakers log. */
function recordingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line).msg as string) });
  return { logger, lines };
}

describe('RedisBreakerStates: breakers shared by the nodes through Redis', () => {
  const prefix = uniquePrefix();
  const clients: Redis[] = [];
  const states: RedisBreakerStates[] = [];
  async function node(redis?: Redis, logger = pino({ level: 'silent' })) {
    const client = redis ?? new Redis(REDIS_URL, failFast);
    clients.push(client);
    // Without an offline queue, commands before the connection is up fail (as in the gateway, which waits too).
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    const s = new RedisBreakerStates({ redis: client, keyPrefix: prefix, logger, refreshMs: 100 });
    states.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(states.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    for (const c of clients) c.disconnect();
  });

  breakerContract('Redis', () => node());

  it('a trip by Retry-After on one node trips the backend on another within a refresh', async () => {
    const key = `${K}-retry`;
    const [one, two] = await Promise.all([node(), node()]);
    const now = Date.now();
    expect(two.available(key, now)).toBe(true); // two uses the backend: it reads its breaker from now on
    one.failed(key, policy, now, 20_000);
    expect(one.available(key, now)).toBe(false); // at once on the node that saw it
    const waited = await within(1000, async () => !two.available(key, Date.now()));
    expect(waited).toBeLessThan(1000);
    expect(two.phase(key, Date.now())).toBe('open');
    expect(two.recoversAt(key, now)).toBe(now + 20_000);
    expect(two.inspect(key, policy, now)).toEqual({ phase: 'open', openUntil: now + 20_000, recentFailures: 0 });
  });

  it('counts failures of every node against one threshold', async () => {
    const key = `${K}-count`;
    const [one, two] = await Promise.all([node(), node()]);
    const now = Date.now();
    one.available(key, now);
    two.available(key, now);
    one.failed(key, policy, now, null);
    await two.refresh().then(() => within(1000, async () => (await two.refresh(), two.inspect(key, policy, Date.now()).recentFailures === 1)));
    two.failed(key, policy, now + 1, null);
    await within(1000, async () => (await one.refresh(), one.inspect(key, policy, now + 1).recentFailures === 2));
    one.failed(key, policy, now + 2, null); // the third: trips, on every node
    await within(1000, async () => (await two.refresh(), two.phase(key, now + 3) === 'open'));
    expect(two.recoversAt(key, now + 3)).toBe(now + 2 + 30_000);
  });

  it('after the trip, one node only claims the probe; its success closes the breaker everywhere', async () => {
    const key = `${K}-probe`;
    const [one, two] = await Promise.all([node(), node()]);
    const start = Date.now();
    one.failed(key, policy, start, 300);
    two.available(key, start);
    await within(1000, async () => (await two.refresh(), two.phase(key, Date.now()) === 'open'));
    await within(2000, async () => Date.now() >= start + 300);
    // Both ask; the claim (SET NX) goes to one.
    expect([one.available(key, Date.now()), two.available(key, Date.now())]).toEqual([false, false]);
    await within(1000, async () => one.available(key, Date.now()) || two.available(key, Date.now()));
    const winners = [one, two].filter((s) => s.available(key, Date.now()));
    expect(winners).toHaveLength(1);
    const [winner, loser] = winners[0] === one ? [one, two] : [two, one];
    expect(winner!.acquire(key, Date.now())).toBe(true);
    expect(winner!.acquire(key, Date.now())).toBe(false); // one probe
    expect(loser!.acquire(key, Date.now())).toBe(false);
    winner!.succeeded(key);
    expect(winner!.phase(key, Date.now())).toBe('closed');
    await within(1000, async () => (await loser!.refresh(), loser!.phase(key, Date.now()) === 'closed'));
    expect(loser!.available(key, Date.now())).toBe(true);
  });

  it('falls back to its own state when Redis is unreachable, logs it once, and shares again when it is back', async () => {
    const server = await PrivateRedis.start();
    try {
      const { logger, lines } = recordingLogger();
      const client = new Redis(server.url, { ...failFast, retryStrategy: () => 50 });
      client.on('error', () => undefined);
      const b = await node(client, logger);
      const key = `${K}-down`;
      b.available(key, Date.now());
      await server.down();
      await within(2000, async () => (await b.refresh(), !b.sharing));
      // Still judged: by this node alone; requests are never refused for the store being down.
      expect(b.available(key, Date.now())).toBe(true);
      b.failed(key, policy, Date.now(), 10_000);
      expect(b.available(key, Date.now())).toBe(false);
      for (let i = 0; i < 5; i++) await b.refresh();
      expect(lines.filter((l) => l.includes('unreachable'))).toHaveLength(1);
      await server.up();
      await within(5000, async () => (await b.refresh(), b.sharing));
      expect(lines.filter((l) => l.includes('shared by the nodes again'))).toHaveLength(1);
    } finally {
      await server.down();
    }
  }, 20_000);
});
