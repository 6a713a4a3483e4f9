/**
 * The failure policy around the shared limiter: with a fake primary whose calls can be made to
 * throw (or hang), then once for real against a private redis-server that is killed and restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollgateError, TollgateError } from '../../src/errors.js';
import type { LimitRule, LimitStatus, Limiter, Reservation, ReserveResult } from '../../src/limits/limiter.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { RedisLimiter } from '../../src/limits/redis-limiter.js';
import { LIMITER_UNAVAILABLE_MESSAGE, ResilientLimiter, type LimiterState } from '../../src/limits/resilient-limiter.js';
import { uniqueRuleId } from '../contracts/limiter-contract.js';

const T0 = Date.UTC(2030, 4, 15, 10, 0, 0, 0);

function rule(tpm: number | null, quota: number | null = null): LimitRule & { deploymentName: string } {
  // Callers pass richer rules (LimitRuntime); a refusal must hand back the caller's object.
  return { id: uniqueRuleId('resilient'), tokensPerMinute: tpm, tokenQuota: quota, quotaPeriod: quota === null ? null : 'daily', deploymentName: 'gpt' };
}

/** A primary backed by a MemoryLimiter, whose calls throw while `failing` or wait while `hold` is set. */
class FakePrimary implements Limiter {
  readonly inner: MemoryLimiter;
  failing = false;
  hold: Promise<void> | null = null;
  readonly calls = { reserve: 0, settle: 0, release: 0, peek: 0, close: 0 };
  readonly settled: Array<{ reservation: Reservation; used: number }> = [];

  constructor(clock: () => number) {
    this.inner = new MemoryLimiter({ clock });
  }

  private async gate(): Promise<void> {
    if (this.hold) await this.hold;
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  }

  async reserve(rules: readonly LimitRule[], tokens: number): Promise<ReserveResult> {
    this.calls.reserve++;
    await this.gate();
    return this.inner.reserve(rules, tokens);
  }
  async settle(reservation: Reservation, used: number): Promise<void> {
    this.calls.settle++;
    await this.gate();
    this.settled.push({ reservation, used });
    return this.inner.settle(reservation, used);
  }
  async release(reservation: Reservation): Promise<void> {
    this.calls.release++;
    await this.gate();
    return this.inner.release(reservation);
  }
  async peek(r: LimitRule): Promise<LimitStatus> {
    this.calls.peek++;
    await this.gate();
    return this.inner.peek(r);
  }
  async close(): Promise<void> {
    this.calls.close++;
  }
}

function logCapture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('ResilientLimiter (fake primary)', () => {
  let now = T0;
  const clock = () => now;
  let primary: FakePrimary;
  let states: LimiterState[];
  let fallbacks: number;

  beforeEach(() => {
    now = T0;
    primary = new FakePrimary(clock);
    states = [];
    fallbacks = 0;
  });

  function make(policy: 'fail-closed' | 'fail-open', share = 0.5, extra: { logger?: pino.Logger } = {}): ResilientLimiter {
    return new ResilientLimiter(primary, {
      policy,
      failOpenShare: share,
      retryIntervalMs: 1000,
      clock,
      onStateChange: (s) => states.push(s),
      onFallback: () => fallbacks++,
      ...extra,
    });
  }

  it('while the primary answers, it decides everything', async () => {
    const limiter = make('fail-closed');
    const r = rule(100);
    const res = await limiter.reserve([r], 60);
    expect(res.ok).toBe(true);
    const refused = await limiter.reserve([r], 41);
    expect(refused).toMatchObject({ ok: false, kind: 'tpm', limit: 100, retryAfterSeconds: 60 });
    if (!refused.ok) expect(refused.rule).toBe(r);
    expect(primary.calls.reserve).toBe(2);
    expect(limiter.state).toBe('up');
    expect(states).toEqual([]);
    expect(fallbacks).toBe(0);
  });

  it('fail-closed: 503 limiter_unavailable with Retry-After: 1', async () => {
    const limiter = make('fail-closed');
    primary.failing = true;
    const err = await limiter.reserve([rule(100)], 10).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTollgateError(err)).toBe(true);
    const e = err as TollgateError;
    expect(e.code).toBe('limiter_unavailable');
    expect(e.status).toBe(503);
    expect(e.message).toBe(LIMITER_UNAVAILABLE_MESSAGE);
    expect(e.options.headers).toEqual({ 'retry-after': '1' });
    expect(limiter.state).toBe('down');
    expect(states).toEqual(['down']);
    // Still down (no probe before the interval): refused without calling the primary.
    await expect(limiter.reserve([rule(100)], 10)).rejects.toMatchObject({ code: 'limiter_unavailable' });
    expect(primary.calls.reserve).toBe(1);
    expect(fallbacks).toBe(2);
  });

  it('fail-open: decides locally with the share of each limit (TPM 100 × 0.5 → 50 admitted)', async () => {
    const limiter = make('fail-open', 0.5);
    primary.failing = true;
    const r = rule(100);
    let admitted = 0;
    for (let i = 0; i < 10; i++) {
      const res = await limiter.reserve([r], 10);
      if (res.ok) admitted += 10;
      else {
        expect(res).toMatchObject({ kind: 'tpm', limit: 50, retryAfterSeconds: 60 });
        expect(res.rule).toBe(r); // the caller's rule, with its extra fields
      }
    }
    expect(admitted).toBe(50);
    expect(limiter.state).toBe('down');
    expect(fallbacks).toBe(10);
    // Quotas too (floor), and never below 1 token.
    const q = rule(null, 1000);
    const share = make('fail-open', 0.34);
    expect(await share.reserve([q], 341)).toMatchObject({ ok: false, kind: 'quota', limit: 340 });
    expect((await share.reserve([q], 340)).ok).toBe(true);
    const tiny = make('fail-open', 0.001);
    expect((await tiny.reserve([rule(100)], 1)).ok).toBe(true);
    expect(await tiny.reserve([rule(100)], 2)).toMatchObject({ ok: false, limit: 1, retryAfterSeconds: null });
  });

  it('rejects a share outside (0, 1]', () => {
    for (const share of [0, -0.5, 1.01, Number.NaN]) expect(() => make('fail-open', share)).toThrow(RangeError);
    expect(() => make('fail-open', 1)).not.toThrow();
  });

  it('probes the primary at most once per interval, then returns to it', async () => {
    const limiter = make('fail-open', 1);
    const r = rule(1_000_000);
    primary.failing = true;
    expect((await limiter.reserve([r], 1)).ok).toBe(true); // fails over
    expect(primary.calls.reserve).toBe(1);
    for (let i = 0; i < 50; i++) {
      now += 19; // up to +950 ms: still within the interval
      await limiter.reserve([r], 1);
    }
    expect(primary.calls.reserve).toBe(1);
    now = T0 + 1000;
    await Promise.all(Array.from({ length: 20 }, () => limiter.reserve([r], 1)));
    expect(primary.calls.reserve).toBe(2); // one probe among 20 concurrent reserves
    expect(limiter.state).toBe('down');
    now = T0 + 1999;
    await limiter.reserve([r], 1);
    expect(primary.calls.reserve).toBe(2);
    // The primary is back: the next probe succeeds and traffic returns to it.
    primary.failing = false;
    now = T0 + 2000;
    const probe = await limiter.reserve([r], 5);
    expect(probe.ok).toBe(true);
    expect(primary.calls.reserve).toBe(3);
    expect(limiter.state).toBe('up');
    expect(states).toEqual(['down', 'up']);
    for (let i = 0; i < 5; i++) await limiter.reserve([r], 1);
    expect(primary.calls.reserve).toBe(8);
    expect((await primary.inner.peek(r)).tpm!.used).toBe(10); // the probe's 5 + 5 × 1
  });

  it('while a probe hangs, concurrent reserves are decided locally (no pile-up on the primary)', async () => {
    const limiter = make('fail-open', 1);
    const r = rule(1000);
    primary.failing = true;
    await limiter.reserve([r], 1);
    now += 1000;
    let open!: () => void;
    primary.hold = new Promise((resolve) => (open = resolve));
    primary.failing = false;
    const probe = limiter.reserve([r], 1);
    const others = await Promise.all(Array.from({ length: 10 }, () => limiter.reserve([r], 1)));
    expect(others.every((o) => o.ok)).toBe(true);
    expect(primary.calls.reserve).toBe(2);
    expect(limiter.state).toBe('down');
    primary.hold = null;
    open();
    expect((await probe).ok).toBe(true);
    expect(limiter.state).toBe('up');
  });

  it('settle and release go to the limiter that admitted the reservation', async () => {
    const limiter = make('fail-open', 0.5);
    const r = rule(1000, 10_000);
    const byPrimary = await limiter.reserve([r], 100);
    primary.failing = true;
    const byLocal = await limiter.reserve([r], 200);
    expect(limiter.state).toBe('down');
    expect(byPrimary.ok && byLocal.ok).toBe(true);
    if (!byPrimary.ok || !byLocal.ok) return;
    // Back up: the local reservation still settles locally, the primary's on the primary.
    primary.failing = false;
    now += 1000;
    await limiter.reserve([r], 1); // probe → up
    expect(limiter.state).toBe('up');
    await limiter.settle(byLocal.reservation, 150);
    expect(primary.calls.settle).toBe(0);
    await limiter.settle(byPrimary.reservation, 40);
    expect(primary.calls.settle).toBe(1);
    expect(primary.settled[0]!.used).toBe(40);
    expect(await primary.inner.peek(r)).toMatchObject({ tpm: { used: 41 }, quota: { used: 41 } });
    primary.failing = true;
    // The local limiter's counts (while down, at half the limits): 150 settled.
    expect(await limiter.peek(r)).toMatchObject({ tpm: { limit: 500, used: 150 }, quota: { limit: 5000, used: 150 } });
    expect(limiter.state).toBe('down'); // peek failed over too
  });

  it('a settle that cannot reach the primary is logged and dropped, not thrown', async () => {
    const { logger, lines } = logCapture();
    const limiter = make('fail-open', 0.5, { logger });
    const r = rule(1000);
    const a = await limiter.reserve([r], 100);
    const b = await limiter.reserve([r], 100);
    if (!a.ok || !b.ok) throw new Error('expected admissions');
    primary.failing = true;
    await limiter.settle(a.reservation, 50);
    await limiter.release(b.reservation);
    expect(limiter.state).toBe('down');
    expect(states).toEqual(['down']);
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings.some((m) => m.includes('unreachable'))).toBe(true);
    expect(warnings.filter((m) => m.includes('dropped'))).toHaveLength(1); // once per outage
    primary.failing = false;
    now += 1000;
    await limiter.reserve([r], 1);
    const info = lines.find((l) => l.level === 30 && l.msg.includes('reachable again')) as { droppedSettlements?: number } | undefined;
    expect(info?.droppedSettlements).toBe(2);
  });

  it('a failure of a call begun before a recovery does not bring the state down again', async () => {
    const limiter = make('fail-open', 1);
    const r = rule(1000);
    let open!: () => void;
    primary.hold = new Promise((resolve) => (open = resolve));
    const straggler = limiter.reserve([r], 1); // sent while up, answers late
    // Meanwhile: another call fails (down), and a probe succeeds (up).
    primary.hold = null;
    primary.failing = true;
    await limiter.reserve([r], 1);
    expect(limiter.state).toBe('down');
    primary.failing = false;
    now += 1000;
    await limiter.reserve([r], 1);
    expect(limiter.state).toBe('up');
    primary.failing = true; // the straggler fails now
    open();
    expect((await straggler).ok).toBe(true); // answered by the fallback
    expect(limiter.state).toBe('up');
    expect(states).toEqual(['down', 'up']);
  });

  it('a bad argument is the caller\'s bug, not an outage: rethrown, state stays up', async () => {
    const limiter = make('fail-open');
    primary.reserve = async () => {
      throw new RangeError('tokens must be a finite number ≥ 0, got NaN');
    };
    await expect(limiter.reserve([rule(100)], Number.NaN)).rejects.toThrow(RangeError);
    expect(limiter.state).toBe('up');
    expect(fallbacks).toBe(0);
  });

  it('peek uses the primary while up; close closes both', async () => {
    const limiter = make('fail-closed');
    const r = rule(100);
    await limiter.reserve([r], 30);
    expect((await limiter.peek(r)).tpm).toMatchObject({ limit: 100, used: 30 });
    expect(primary.calls.peek).toBe(1);
    await limiter.close();
    expect(primary.calls.close).toBe(1);
  });
});

describe('ResilientLimiter over a real Redis that dies and comes back', () => {
  let server: ChildProcess | null = null;
  let port = 0;
  let client: Redis | null = null;

  async function freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port: p } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return p;
  }

  async function startRedis(): Promise<void> {
    expect(port).not.toBe(6379); // never the shared Redis
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => {});
      try {
        await c.connect();
        if ((await c.ping()) === 'PONG') return;
      } catch {
        // not yet
      } finally {
        c.disconnect();
      }
      await sleep(50);
    }
    throw new Error(`redis-server on ${port} did not answer PING`);
  }

  async function killRedis(): Promise<void> {
    const s = server;
    server = null;
    if (!s || s.exitCode !== null) return;
    const exited = once(s, 'exit');
    s.kill('SIGKILL');
    await exited;
  }

  afterEach(async () => {
    client?.disconnect();
    client = null;
    await killRedis();
  });

  it('fails open within a second of the kill, and returns to Redis within seconds of the restart', async () => {
    port = await freePort();
    await startRedis();
    // The client settings the app should use: fail fast, reconnect on its own.
    client = new Redis({
      host: '127.0.0.1',
      port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 500,
      commandTimeout: 500,
      retryStrategy: () => 100,
    });
    client.on('error', () => {}); // reconnection errors are expected here
    await once(client, 'ready');
    const primary = new RedisLimiter({ redis: client, keyPrefix: 'tollgate-test:resilient:' });
    const states: LimiterState[] = [];
    let fallbacks = 0;
    const limiter = new ResilientLimiter(primary, {
      policy: 'fail-open',
      failOpenShare: 0.5,
      retryIntervalMs: 200,
      onStateChange: (s) => states.push(s),
      onFallback: () => fallbacks++,
    });
    const r = rule(100_000);

    const first = await limiter.reserve([r], 10);
    expect(first.ok).toBe(true);
    expect((await primary.peek(r)).tpm!.used).toBe(10);

    await killRedis();
    // Every reserve is still answered, each within a second, by the fallback.
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const res = await limiter.reserve([r], 10);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(res.ok).toBe(true);
    }
    expect(limiter.state).toBe('down');
    expect(fallbacks).toBeGreaterThanOrEqual(9);
    // The fallback holds half the limit.
    expect((await limiter.peek(r)).tpm).toMatchObject({ limit: 50_000 });

    await startRedis(); // same port, empty (no persistence)
    const deadline = Date.now() + 10_000;
    const isUp = () => limiter.state === 'up'; // read afresh (not narrowed) each time
    while (!isUp() && Date.now() < deadline) {
      await limiter.reserve([r], 10);
      if (!isUp()) await sleep(100);
    }
    expect(limiter.state).toBe('up');
    expect(states).toEqual(['down', 'up']);
    // Decisions come from Redis again: the successful probe's 10 tokens, then these 7.
    const after = await limiter.reserve([r], 7);
    expect(after.ok).toBe(true);
    expect((await primary.peek(r)).tpm!.used).toBe(17);
    expect((await limiter.peek(r)).tpm!.limit).toBe(100_000);
    await limiter.close();
  }, 30_000);
});

describe('ResilientLimiter failing open, from what Redis last said', () => {
  it('starts each limit from its share of the last known use, not from zero', async () => {
    const now = T0;
    const primary = new FakePrimary(() => now);
    const r = rule(1000, 10_000);
    const known = new Map([[r.id, { windowUsed: 900, quota: { period: 'daily' as const, start: Date.UTC(2030, 4, 15), used: 9000 } }]]);
    const limiter = new ResilientLimiter(primary, { policy: 'fail-open', failOpenShare: 0.5, clock: () => now, lastKnown: () => known });
    primary.failing = true;
    // The node's share: 500 TPM of which 450 were used, a 5,000 quota of which 4,500 were.
    const first = await limiter.reserve([r], 40);
    expect(first.ok).toBe(true);
    const second = await limiter.reserve([r], 20);
    expect(second).toMatchObject({ ok: false, kind: 'tpm' });
    const peeked = await limiter.peek(r);
    expect(peeked.quota!.used).toBe(4540);
  });
});
