import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { QuotaPeriod } from '../domain/model.js';
import type { Clock } from './clock.js';
import { amountFor, LimiterNotSeeded, type KnownUse, type LimitRule, type LimitStatus, type Limiter, type Refusal, type Reservation, type ReserveResult, type Standing } from './limiter.js';
import { periodEnd } from './quota-period.js';
import { PEEK_SCRIPT, RESERVE_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from './redis-scripts.js';

export interface RedisLimiterOptions {
  /**
   * The caller's client; `close()` leaves it open. Build it to fail fast, so a Redis outage turns
   * into an error within a bounded time instead of queued requests (see ResilientLimiter):
   * `new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 1000,
   * commandTimeout: 500 })`.
   */
  redis: Redis | Cluster;
  /** Prepended to every key, e.g. `tollgate:`. Nodes sharing a count must use the same prefix. */
  keyPrefix: string;
  /** A reservation neither settled nor released within this time is released (default 15 min). */
  reservationTtlMs?: number;
  /** Tests only: decide at this clock's time instead of Redis's (`TIME`). */
  clock?: Clock;
  /**
   * The hash tag of a limit's keys. Default: the limit itself (`{lim:<id>}`), which spreads limits
   * over a Redis Cluster's slots — but a script may only touch one slot, and one request reserves
   * against several limits at once (its deployment's and its project-wide limit). So on a Cluster
   * this option is required, and must give every limit that can apply to one request the same tag,
   * e.g. its project: `(rule) => \`prj:${rule.projectId}\``. It must depend only on the limit's
   * identity (the same limit must always map to the same tag). On a single Redis (or Sentinel) tags
   * change nothing and the default is fine.
   */
  slotTag?: (rule: LimitRule) => string;
  /**
   * Guard the counts against a Redis that lost them (restarted empty, failed over to a replica
   * that had not caught up, flushed): reserves are refused with LimiterNotSeeded until setEpoch()
   * names the epoch the counts were seeded for (see RedisReseeder), and — on a single Redis — each
   * reserve checks atomically that the epoch key still holds it. Default false.
   */
  epochGuard?: boolean;
  /** Called when a reserve finds the epoch gone or changed (the counts must be seeded again). */
  onEpochLost?: () => void;
}

/** A limit's usage as the ledger has it, to seed Redis with: tokens per second and in the current quota period. */
export interface SeedUse {
  window: ReadonlyMap<number, number>;
  quotaUsed: number | null;
}


/** What settle/release need, returned by the reserve script. Opaque to callers. */
class RedisReservation implements Reservation {
  constructor(
    readonly tokens: number,
    /** w, q, r keys per limit. */
    readonly keys: readonly string[],
    /** The reservation's member in each limit's reservation set: `<rid>.<i>:<tokens>:<second>:<quotaStart>`. */
    readonly members: readonly string[],
    /** The quota period per limit at reservation time ('' for none): used if the quota key has expired. */
    readonly periods: readonly string[],
    /** Per limit: whether it counts money (settled with the cost, not the tokens). */
    readonly money: readonly boolean[],
  ) {}
}

const EMPTY_STANDING: Standing = Object.freeze({ tpm: null, quota: null }) as Standing;

/** A Lua script run by EVALSHA, falling back to EVAL (which also caches it) on NOSCRIPT. */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis | Cluster, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const reserveScript = new LuaScript(RESERVE_SCRIPT);
const seedScript = new LuaScript(SEED_SCRIPT);
const settleScript = new LuaScript(SETTLE_SCRIPT);
const peekScript = new LuaScript(PEEK_SCRIPT);

/**
 * The limiter of a cluster: every node reserves and settles against one count in Redis, with the
 * same semantics as MemoryLimiter (and the same contract suite). Each operation is one atomic Lua
 * script, hence one round trip: reserve checks and charges every limit of the request, all or
 * nothing; settle/release correct them; peek reads one. Time comes from Redis, so nodes with
 * drifting clocks agree. Outstanding reservations are recorded in Redis (per limit, scored by
 * expiry), so those of a node that crashed are released by whichever node next touches the limit.
 * Key layout and scripts: see redis-scripts.ts.
 */
export class RedisLimiter implements Limiter {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly clock: Clock | null;
  private readonly slotTag: ((rule: LimitRule) => string) | null;
  private readonly cluster: boolean;
  /** Reservation ids: unique per limiter instance (random), then a sequence. */
  private readonly node = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly epochGuard: boolean;
  private readonly onEpochLost: (() => void) | null;
  /** The epoch the counts in Redis were seeded for (epochGuard); null: not seeded, refuse. */
  private epoch: string | null = null;
  /** Per limit id, what the last reserve saw. */
  private readonly known = new Map<string, KnownUse>();

  constructor(options: RedisLimiterOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix;
    this.ttlMs = options.reservationTtlMs ?? 15 * 60_000;
    this.clock = options.clock ?? null;
    this.slotTag = options.slotTag ?? null;
    this.cluster = (options.redis as { isCluster?: boolean }).isCluster === true;
    this.epochGuard = options.epochGuard ?? false;
    this.onEpochLost = options.onEpochLost ?? null;
    if (this.cluster && !this.slotTag) {
      throw new Error(
        'RedisLimiter on Redis Cluster needs the slotTag option: the limits of one request must share a hash slot (e.g. tag them by project)',
      );
    }
  }

  async reserve(rules: readonly LimitRule[], tokens: number, micros = 0): Promise<ReserveResult> {
    if (!Number.isFinite(tokens) || tokens < 0) throw new RangeError(`tokens must be a finite number ≥ 0, got ${tokens}`);
    if (!Number.isFinite(micros) || micros < 0) throw new RangeError(`micros must be a finite number ≥ 0, got ${micros}`);
    if (rules.length === 0) return { ok: true, reservation: new RedisReservation(tokens, [], [], [], []), standing: { ...EMPTY_STANDING } };
    const epoch = this.epoch;
    if (this.epochGuard && epoch === null) throw new LimiterNotSeeded();
    const keys: string[] = [];
    const periods: string[] = [];
    const money: boolean[] = [];
    const args: string[] = [this.now(), String(tokens), String(this.ttlMs), `${this.node}${(this.seq++).toString(36)}`];
    let tag: string | null = null;
    for (const rule of rules) {
      const base = this.baseKey(rule);
      if (this.cluster) {
        const t = this.slotTag!(rule);
        if (tag !== null && t !== tag) {
          throw new Error(`RedisLimiter: the limits of one request map to different slot tags (${tag}, ${t}); on Redis Cluster they must share one`);
        }
        tag = t;
      }
      keys.push(`${base}:w`, `${base}:q`, `${base}:r`);
      const period = quotaPeriodOf(rule);
      periods.push(period ?? '');
      money.push(rule.unit === 'micros');
      args.push(
        rule.tokensPerMinute === null ? '' : String(rule.tokensPerMinute),
        period === null ? '' : String(rule.tokenQuota),
        period ?? '',
        String(amountFor(rule, tokens, micros)),
      );
    }
    // On a Redis Cluster the epoch key lives in a slot of its own, which a script over a limit's
    // slot may not read: there the reseeder's periodic check stands in for this one.
    if (epoch !== null && !this.cluster) {
      keys.push(this.epochKey);
      args.push(epoch);
    }
    const reply = (await reserveScript.run(this.redis, keys, args)) as Array<string | number>;
    if (reply[0] === 'E') {
      if (this.epoch === epoch) {
        this.epoch = null;
        this.onEpochLost?.();
      }
      throw new LimiterNotSeeded();
    }
    if (reply[0] === '0') {
      const rule = rules[Number(reply[1]) - 1]!;
      const kind = reply[2] === 'q' ? 'quota' : 'tpm';
      const refusal: Refusal = {
        ok: false,
        rule,
        kind,
        limit: kind === 'quota' ? rule.tokenQuota! : rule.tokensPerMinute!,
        retryAfterSeconds: reply[3] === '' ? null : Number(reply[3]),
        periodEnd: reply[4] === '' ? null : Number(reply[4]),
      };
      return refusal;
    }
    const now = Number(reply[1]);
    const members: string[] = new Array(rules.length);
    const standing: Standing = { tpm: null, quota: null };
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const at = 2 + i * 5;
      members[i] = String(reply[at]);
      if (rule.unit !== 'micros' && rule.tokensPerMinute !== null) {
        const remaining = Math.max(0, rule.tokensPerMinute - Number(reply[at + 1]));
        if (!standing.tpm || remaining < standing.tpm.remaining) {
          const emptyAt = Number(reply[at + 2]) * 1000;
          standing.tpm = { limit: rule.tokensPerMinute, remaining, resetSeconds: Math.max(0, Math.ceil((emptyAt - now) / 1000)) };
        }
      }
      const period = quotaPeriodOf(rule);
      const quotaUsed = period === null ? 0 : Number(reply[at + 3]);
      if (period !== null && rule.unit !== 'micros') {
        const remaining = Math.max(0, rule.tokenQuota! - quotaUsed);
        if (!standing.quota || remaining < standing.quota.remaining) {
          standing.quota = { limit: rule.tokenQuota!, remaining, period, resetAt: periodEnd(period, Number(reply[at + 4])) };
        }
      }
      this.known.set(rule.id, {
        windowUsed: Number(reply[at + 1]),
        quota: period === null ? null : { period, start: Number(reply[at + 4]), used: quotaUsed },
      });
    }
    return { ok: true, reservation: new RedisReservation(tokens, keys, members, periods, money), standing };
  }

  async settle(reservation: Reservation, usedTokens: number, usedMicros = 0): Promise<void> {
    const used = Math.max(0, usedTokens);
    const cost = Math.max(0, usedMicros);
    if (!Number.isFinite(used)) throw new RangeError(`used tokens must be a finite number, got ${usedTokens}`);
    if (!Number.isFinite(cost)) throw new RangeError(`used micros must be a finite number, got ${usedMicros}`);
    await this.finish(reservation, 's', used, cost);
  }

  async release(reservation: Reservation): Promise<void> {
    await this.finish(reservation, 'r', 0, 0);
  }

  async peek(rule: LimitRule): Promise<LimitStatus> {
    const period = quotaPeriodOf(rule);
    if (rule.tokensPerMinute === null && period === null) return { tpm: null, quota: null };
    const base = this.baseKey(rule);
    const reply = (await peekScript.run(this.redis, [`${base}:w`, `${base}:q`, `${base}:r`], [this.now(), String(this.ttlMs), period ?? ''])) as Array<string | number>;
    const status: LimitStatus = { tpm: null, quota: null };
    if (rule.tokensPerMinute !== null) {
      const used = Number(reply[1]);
      status.tpm = { limit: rule.tokensPerMinute, used, remaining: Math.max(0, rule.tokensPerMinute - used), resetAt: Number(reply[2]) * 1000 };
    }
    if (period !== null) {
      const used = Number(reply[3]);
      const start = Number(reply[4]);
      status.quota = {
        limit: rule.tokenQuota!,
        used,
        remaining: Math.max(0, rule.tokenQuota! - used),
        period,
        periodStart: start,
        resetAt: periodEnd(period, start),
      };
    }
    return status;
  }

  /** What the last reserve of each limit saw, by limit id (see KnownUse). */
  lastKnown(): ReadonlyMap<string, KnownUse> {
    return this.known;
  }

  /** The key whose value names the current epoch of the counts (see epochGuard). */
  get epochKey(): string {
    return `${this.prefix}epoch`;
  }

  /** The epoch Redis holds now; when it holds none (it lost its data, or never had any), a new one. */
  async currentEpoch(): Promise<string> {
    const fresh = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    // Of nodes finding no epoch at once, one sets it; all read the winner's.
    await this.redis.set(this.epochKey, fresh, 'NX');
    const epoch = await this.redis.get(this.epochKey);
    if (epoch === null) throw new Error('the epoch key vanished as it was set');
    return epoch;
  }

  /** Names the epoch the counts are seeded for (null: not seeded: refuse reserves). */
  setEpoch(epoch: string | null): void {
    this.epoch = epoch;
  }

  get seededEpoch(): string | null {
    return this.epoch;
  }

  /** Raises a limit's counters in Redis to at least `use` (never lowers them: see SEED_SCRIPT). */
  async seed(rule: LimitRule, use: SeedUse): Promise<void> {
    const period = quotaPeriodOf(rule);
    const base = this.baseKey(rule);
    const args = [this.now(), String(this.ttlMs), period ?? '', period === null || use.quotaUsed === null ? '' : String(use.quotaUsed)];
    for (const [second, tokens] of use.window) if (tokens > 0) args.push(String(second), String(tokens));
    await seedScript.run(this.redis, [`${base}:w`, `${base}:q`, `${base}:r`], args);
  }

  /** The Redis client belongs to the caller: nothing to close here. */
  async close(): Promise<void> {}

  /** The keys of a limit share `<prefix>{<tag>}`: one slot per limit (or per tag group). */
  private baseKey(rule: LimitRule): string {
    return this.slotTag ? `${this.prefix}{${this.slotTag(rule)}}:lim:${rule.id}` : `${this.prefix}{lim:${rule.id}}`;
  }

  private now(): string {
    return this.clock ? String(this.clock()) : '';
  }

  private async finish(reservation: Reservation, mode: 's' | 'r', used: number, cost: number): Promise<void> {
    if (!(reservation instanceof RedisReservation)) throw new TypeError('not a reservation of this limiter');
    if (reservation.keys.length === 0) return;
    const args = [this.now(), String(this.ttlMs), mode, String(used)];
    for (let i = 0; i < reservation.members.length; i++) {
      args.push(reservation.members[i]!, reservation.periods[i]!, String(reservation.money[i] ? cost : used));
    }
    await settleScript.run(this.redis, reservation.keys, args);
  }
}

/** The rule's quota period when it has a quota in force, else null. */
function quotaPeriodOf(rule: LimitRule): QuotaPeriod | null {
  return rule.tokenQuota !== null && rule.quotaPeriod !== null ? rule.quotaPeriod : null;
}
