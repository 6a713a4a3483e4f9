import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LuaScript } from '../../limits/redis-limiter.js';
import type { BreakerPolicy, ConfigSnapshot } from '../../snapshot/config-snapshot.js';
import { servedPools } from './backend-metrics.js';
import { MemoryBreakerStates, type BreakerPhase, type BreakerStates, type BreakerView } from './circuit-breaker.js';

/**
 * A counted failure, atomically. KEYS[1]: the breaker's hash — "u" open until (ms, 0: closed),
 * "f" failures counted in the window that began at "w" (ms); KEYS[2]: the half-open probe's claim.
 * ARGV: now, interval, failures, trip (ms), the upstream's wait ('' when none or not trusted),
 * '1' when the failure is the probe's. A trip resets the count and frees the probe claim.
 * Returns {u, f, w}.
 */
const FAILED_SCRIPT = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local function trip(untilMs)
  redis.call('HSET', KEYS[1], 'u', untilMs, 'f', 0, 'w', now)
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], math.max(untilMs - now, interval) + 60000)
  return {untilMs, 0, now}
end
if ARGV[5] ~= '' then return trip(now + tonumber(ARGV[5])) end
if ARGV[6] == '1' then return trip(now + tonumber(ARGV[4])) end
local s = redis.call('HMGET', KEYS[1], 'u', 'f', 'w')
local u = tonumber(s[1]) or 0
local f = tonumber(s[2]) or 0
local w = tonumber(s[3]) or 0
if now - w >= interval then f = 0; w = now end
f = f + 1
if f >= tonumber(ARGV[3]) then return trip(now + tonumber(ARGV[4])) end
redis.call('HSET', KEYS[1], 'f', f, 'w', w)
redis.call('PEXPIRE', KEYS[1], math.max(u - now, interval) + 60000)
return {u, f, w}
`;
const failedScript = new LuaScript(FAILED_SCRIPT);

/** A breaker as Redis last said (or as this node's own writes made it since). */
interface Shared {
  openUntil: number;
  failures: number;
  windowStart: number;
}

const CLOSED: Readonly<Shared> = Object.freeze({ openUntil: 0, failures: 0, windowStart: 0 });
/** How long a backend whose probe another node may hold counts as unavailable, for Retry-After. */
const PROBE_WAIT_MS = 1000;

export interface RedisBreakerOptions {
  redis: Redis | Cluster;
  /** The settings' redisPrefix. */
  keyPrefix: string;
  logger: Logger;
  /** How often the breakers this node uses are read again from Redis: ≤ 1 s of staleness. */
  refreshMs?: number;
  /** An unused probe claim lapses after this long, so another node may probe. */
  claimMs?: number;
  /** A probe in flight keeps its claim this long at most (its outcome frees it sooner). */
  probeMs?: number;
}

/**
 * Breaker state shared by every node through Redis (docs/backends.md): the trip (`openUntil`) and
 * the failures of the current interval live in one hash per backend, updated atomically by one
 * script; every node reads the breakers it uses again every `refreshMs` (one pipelined round
 * trip), so a backend tripped on one node is tripped on all within about that long. The request
 * path never waits on Redis: decisions use the last state read, and writes go out behind them.
 * Once a trip is over, only the node that wins the probe's claim (SET NX) probes the backend.
 *
 * When Redis fails, every decision falls back to this node's own state (kept all along, in
 * memory) until Redis answers again: a request is never refused because the breaker store is down.
 */
export class RedisBreakerStates implements BreakerStates {
  /** This node's own judgement: the fallback while Redis is unreachable. */
  readonly local = new MemoryBreakerStates();
  private readonly shared = new Map<string, Shared>();
  /** Probe claims this node won and has not used yet. */
  private readonly claims = new Set<string>();
  /** Probes this node has in flight. */
  private readonly probing = new Set<string>();
  private readonly claiming = new Set<string>();
  private readonly node = randomBytes(8).toString('hex');
  private up = true;
  private refreshing = false;
  private readonly timer: NodeJS.Timeout;
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly claimMs: number;
  private readonly probeMs: number;

  constructor(options: RedisBreakerOptions) {
    this.redis = options.redis;
    this.prefix = `${options.keyPrefix}breaker:`;
    this.logger = options.logger;
    this.claimMs = options.claimMs ?? 2000;
    this.probeMs = options.probeMs ?? 120_000;
    this.timer = setInterval(() => void this.refresh(), options.refreshMs ?? 250);
    this.timer.unref();
  }

  /** Whether decisions use the shared state (false: this node's own, Redis being unreachable). */
  get sharing(): boolean {
    return this.up;
  }

  available(key: string, nowMs: number): boolean {
    if (!this.up) return this.local.available(key, nowMs);
    const s = this.state(key);
    if (s.openUntil === 0) return true;
    if (nowMs < s.openUntil || this.probing.has(key)) return false;
    if (this.claims.has(key)) return true;
    this.claim(key);
    return false;
  }

  acquire(key: string, nowMs: number): boolean {
    if (!this.up) return this.local.acquire(key, nowMs);
    this.local.acquire(key, nowMs);
    const s = this.state(key);
    if (s.openUntil === 0) return true;
    if (nowMs < s.openUntil || this.probing.has(key) || !this.claims.has(key)) return false;
    this.claims.delete(key);
    this.probing.add(key);
    this.write(this.redis.pexpire(this.probeKey(key), this.probeMs));
    return true;
  }

  succeeded(key: string): void {
    this.local.succeeded(key);
    if (!this.up) return;
    const s = this.shared.get(key);
    // A closed breaker keeps counting: only a success while open or probing is news to share.
    if (!this.probing.delete(key) && (!s || s.openUntil === 0)) return;
    this.shared.set(key, { ...CLOSED });
    this.write(this.redis.del(this.hashKey(key), this.probeKey(key)));
  }

  failed(key: string, policy: BreakerPolicy, nowMs: number, retryAfterMs: number | null): void {
    this.local.failed(key, policy, nowMs, retryAfterMs);
    if (!this.up) return;
    const wait = retryAfterMs !== null && policy.acceptRetryAfter ? retryAfterMs : null;
    const probe = this.probing.delete(key);
    // Applied here at once (the next request of this node must see it), then as Redis says.
    const s = { ...this.state(key) };
    if (wait !== null || probe) Object.assign(s, { openUntil: nowMs + (wait ?? policy.tripMs), failures: 0, windowStart: nowMs });
    else {
      if (nowMs - s.windowStart >= policy.intervalMs) Object.assign(s, { failures: 0, windowStart: nowMs });
      if (++s.failures >= policy.failures) Object.assign(s, { openUntil: nowMs + policy.tripMs, failures: 0, windowStart: nowMs });
    }
    this.shared.set(key, s);
    const args = [nowMs, policy.intervalMs, policy.failures, policy.tripMs, wait ?? '', probe ? '1' : '0'].map(String);
    this.write(
      failedScript.run(this.redis, [this.hashKey(key), this.probeKey(key)], args).then((r) => {
        const [openUntil, failures, windowStart] = (r as number[]).map(Number);
        this.shared.set(key, { openUntil: openUntil!, failures: failures!, windowStart: windowStart! });
      }),
    );
  }

  abandoned(key: string): void {
    this.local.abandoned(key);
    if (this.probing.delete(key)) this.write(this.redis.del(this.probeKey(key)));
  }

  recoversAt(key: string, nowMs: number): number {
    if (!this.up) return this.local.recoversAt(key, nowMs);
    const s = this.state(key);
    if (s.openUntil === 0) return nowMs;
    if (nowMs < s.openUntil) return s.openUntil;
    return this.claims.has(key) ? nowMs : nowMs + PROBE_WAIT_MS;
  }

  phase(key: string, nowMs: number): BreakerPhase {
    if (!this.up) return this.local.phase(key, nowMs);
    const s = this.state(key);
    if (s.openUntil === 0) return 'closed';
    return nowMs < s.openUntil ? 'open' : 'half-open';
  }

  inspect(key: string, policy: BreakerPolicy, nowMs: number): BreakerView {
    if (!this.up) return this.local.inspect(key, policy, nowMs);
    const s = this.state(key);
    return {
      phase: this.phase(key, nowMs),
      openUntil: s.openUntil === 0 ? null : s.openUntil,
      recentFailures: nowMs - s.windowStart < policy.intervalMs ? s.failures : 0,
    };
  }

  /**
   * The breakers of the pools this node serves (from each configuration snapshot): read from
   * Redis from now on, before their first request here; those of pools gone are forgotten.
   */
  watch(keys: Iterable<string>): void {
    const wanted = new Set(keys);
    for (const key of this.shared.keys()) if (!wanted.has(key)) this.shared.delete(key);
    for (const key of wanted) this.state(key);
    void this.refresh();
  }

  /** Reads every breaker this node uses from Redis now (also run every `refreshMs`). */
  async refresh(): Promise<void> {
    if (this.refreshing || this.shared.size === 0) return;
    this.refreshing = true;
    try {
      const keys = [...this.shared.keys()];
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.hmget(this.hashKey(key), 'u', 'f', 'w');
      const results = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const [err, values] = results[i] ?? [new Error('no reply'), null];
        if (err) throw err;
        const [u, f, w] = (values as (string | null)[]).map((v) => Number(v ?? 0));
        this.shared.set(key, { openUntil: u!, failures: f!, windowStart: w! });
      });
      this.healthy();
    } catch (err) {
      this.failing(err);
    } finally {
      this.refreshing = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  /** The shared state of a breaker; the first read registers it for refreshing. */
  private state(key: string): Shared {
    const s = this.shared.get(key);
    if (s) return s;
    this.shared.set(key, { ...CLOSED });
    return CLOSED;
  }

  /** Tries to become the node that probes the backend (SET NX): granted to one node at a time. */
  private claim(key: string): void {
    if (this.claiming.has(key)) return;
    this.claiming.add(key);
    this.write(
      this.redis
        .set(this.probeKey(key), this.node, 'PX', this.claimMs, 'NX')
        .then((won) => {
          if (won !== 'OK') return;
          this.claims.add(key);
          // Unused (no request came to this node), the claim lapses in Redis; forget it here too.
          setTimeout(() => this.claims.delete(key), this.claimMs).unref();
        })
        .finally(() => this.claiming.delete(key)),
    );
  }

  private write(op: Promise<unknown>): void {
    op.then(
      () => this.healthy(),
      (err: unknown) => this.failing(err),
    );
  }

  private healthy(): void {
    if (this.up) return;
    this.up = true;
    this.logger.warn('circuit breakers: Redis answers again; breaker state is shared by the nodes again');
  }

  private failing(err: unknown): void {
    if (!this.up) return;
    this.up = false;
    this.claims.clear();
    this.probing.clear();
    this.logger.error({ err }, 'circuit breakers: Redis is unreachable; each node uses its own breaker state until it answers again');
  }

  private hashKey(key: string): string {
    // One hash tag per backend: its state and its probe claim share a slot on a Redis Cluster.
    return `${this.prefix}{${key}}`;
  }

  private probeKey(key: string): string {
    return `${this.prefix}{${key}}:probe`;
  }
}

/** The breaker keys of every pool a snapshot serves. */
export function poolBreakerKeys(snapshot: ConfigSnapshot): Set<string> {
  const keys = new Set<string>();
  for (const d of servedPools(snapshot)) for (const b of d.pool.backends) keys.add(b.key);
  return keys;
}
