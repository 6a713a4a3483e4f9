import type { Logger } from 'pino';
import { TollgateError } from '../errors.js';
import { systemClock, type Clock } from './clock.js';
import { LimiterNotSeeded, type KnownUse, type LimitRule, type LimitStatus, type Limiter, type Reservation, type ReserveResult } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';

export type LimiterFailurePolicy = 'fail-closed' | 'fail-open';
export type LimiterState = 'up' | 'down';

export interface ResilientLimiterOptions {
  /**
   * What to do while the primary (shared) limiter cannot be reached:
   * - `fail-closed`: refuse governed requests with 503 `limiter_unavailable` (Retry-After: 1);
   * - `fail-open`: decide locally, with a share of every limit.
   */
  policy: LimiterFailurePolicy;
  /**
   * The share of each limit (tokens per minute and quota) the local limiter allows when failing
   * open: with N nodes, about 1/N keeps the cluster near its limits. Rounded down, at least 1 token.
   * 0 < share ≤ 1.
   */
  failOpenShare: number;
  /** While down, the primary is probed at most once per interval (default 1000 ms). */
  retryIntervalMs?: number;
  clock?: Clock;
  /** Reservation TTL of the local limiter (default 15 min). */
  reservationTtlMs?: number;
  /** Called on every change: `down` at the first failure, `up` when a probe succeeds. */
  onStateChange?: (state: LimiterState) => void;
  /**
   * What the primary last said of each limit (by id). Failing open, the local limiter starts each
   * limit from this node's share of it, not from zero.
   */
  lastKnown?: () => ReadonlyMap<string, KnownUse>;
  /** Called for every reserve not decided by the primary (decided locally, or refused with 503). */
  onFallback?: () => void;
  logger?: Logger;
}

export const LIMITER_UNAVAILABLE_MESSAGE = 'Token limits cannot be checked right now (the limit store is unreachable); try again shortly.';

/** Remembers which limiter admitted it, so settle/release go there. */
class RoutedReservation implements Reservation {
  constructor(
    readonly tokens: number,
    readonly inner: Reservation,
    readonly byPrimary: boolean,
  ) {}
}

/**
 * A limiter that survives the loss of its primary (the Redis limiter): when a call to the primary
 * throws (connection refused, command timeout…) the state goes `down`, and reserves are either
 * refused (fail-closed) or decided by a local MemoryLimiter holding `failOpenShare` of every limit
 * (fail-open). While down, the next reserve after `retryIntervalMs` probes the primary (one probe at
 * a time, at most one per interval); when it answers, the state goes `up` and traffic returns to it.
 *
 * The primary must fail fast for this to help: build its ioredis client with
 * `enableOfflineQueue: false`, `maxRetriesPerRequest: 1` (or 0), a small `connectTimeout` and
 * `commandTimeout` ≈ 500 ms. Otherwise commands queue while Redis is away and requests hang.
 *
 * Any error of the primary counts as an outage (connection refused or closed, command timeout,
 * READONLY after a failover, a script error…), except TypeError/RangeError: bad arguments are
 * the caller's bug and are rethrown.
 *
 * Settles and releases go to the limiter that admitted the reservation. One for the primary that
 * fails (Redis went away meanwhile) is logged and dropped: Redis releases the reservation itself
 * when its TTL runs out, so the hold is bounded by the reservation TTL.
 */
export class ResilientLimiter implements Limiter {
  private readonly policy: LimiterFailurePolicy;
  private readonly share: number;
  private readonly retryMs: number;
  private readonly clock: Clock;
  private readonly local: MemoryLimiter;
  private readonly onStateChange: ((state: LimiterState) => void) | undefined;
  private readonly onFallback: (() => void) | undefined;
  private readonly logger: Logger | undefined;
  private readonly lastKnown: (() => ReadonlyMap<string, KnownUse>) | undefined;
  private current: LimiterState = 'up';
  /** Bumped on every state change: a failure of a call begun in an older epoch changes nothing. */
  private epoch = 0;
  private nextProbeAt = 0;
  private probing = false;
  /** Settles/releases of primary reservations lost during the current outage. */
  private dropped = 0;

  constructor(
    private readonly primary: Limiter,
    options: ResilientLimiterOptions,
  ) {
    if (!(options.failOpenShare > 0 && options.failOpenShare <= 1)) throw new RangeError(`failOpenShare must be in (0, 1], got ${options.failOpenShare}`);
    this.policy = options.policy;
    this.share = options.failOpenShare;
    this.retryMs = options.retryIntervalMs ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.local = new MemoryLimiter({ clock: this.clock, reservationTtlMs: options.reservationTtlMs });
    this.onStateChange = options.onStateChange;
    this.onFallback = options.onFallback;
    this.logger = options.logger;
    this.lastKnown = options.lastKnown;
  }

  /** `up`: decisions come from the primary; `down`: from the failure policy. */
  get state(): LimiterState {
    return this.current;
  }

  async reserve(rules: readonly LimitRule[], tokens: number, micros = 0): Promise<ReserveResult> {
    if (this.current === 'up') {
      const epoch = this.epoch;
      try {
        return routed(await this.primary.reserve(rules, tokens, micros), true);
      } catch (err) {
        this.markDown(err, epoch, 'reserve');
      }
    } else if (!this.probing && this.clock() >= this.nextProbeAt) {
      this.probing = true;
      this.nextProbeAt = this.clock() + this.retryMs;
      try {
        const result = await this.primary.reserve(rules, tokens, micros);
        this.markUp();
        return routed(result, true);
      } catch (err) {
        // Measured from the failure, so a slow failure does not lead to back-to-back probes.
        this.nextProbeAt = this.clock() + this.retryMs;
        this.logger?.debug({ err }, 'limiter: the limit store is still unreachable');
      } finally {
        this.probing = false;
      }
    }
    return this.decideLocally(rules, tokens, micros);
  }

  async settle(reservation: Reservation, usedTokens: number, usedMicros = 0): Promise<void> {
    const r = asRouted(reservation);
    if (!r.byPrimary) return this.local.settle(r.inner, usedTokens, usedMicros);
    const epoch = this.epoch;
    try {
      await this.primary.settle(r.inner, usedTokens, usedMicros);
    } catch (err) {
      this.drop(err, epoch, 'settle');
    }
  }

  async release(reservation: Reservation): Promise<void> {
    const r = asRouted(reservation);
    if (!r.byPrimary) return this.local.release(r.inner);
    const epoch = this.epoch;
    try {
      await this.primary.release(r.inner);
    } catch (err) {
      this.drop(err, epoch, 'release');
    }
  }

  /** From the primary; while it is down, the local limiter's view (with this node's share of the limits). */
  async peek(rule: LimitRule): Promise<LimitStatus> {
    if (this.current === 'up') {
      const epoch = this.epoch;
      try {
        return await this.primary.peek(rule);
      } catch (err) {
        this.markDown(err, epoch, 'peek');
      }
    }
    return this.local.peek(this.scaled(rule));
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.local.close()]);
  }

  private decideLocally(rules: readonly LimitRule[], tokens: number, micros: number): ReserveResult {
    this.onFallback?.();
    if (this.policy === 'fail-closed') {
      throw new TollgateError('limiter_unavailable', LIMITER_UNAVAILABLE_MESSAGE, { headers: { 'retry-after': '1' } });
    }
    const scaled = rules.map((rule) => this.scaled(rule));
    const result = this.local.reserveNow(scaled, tokens, micros);
    if (!result.ok) {
      // Report the caller's rule (callers read more than the limiter's fields from it), with the
      // local limit that refused.
      return { ...result, rule: rules[scaled.indexOf(result.rule)] ?? result.rule };
    }
    return routed(result, false);
  }

  /** The rule with this node's share of its limits. */
  private scaled(rule: LimitRule): LimitRule {
    return {
      id: rule.id,
      tokensPerMinute: this.part(rule.tokensPerMinute),
      tokenQuota: this.part(rule.tokenQuota),
      quotaPeriod: rule.quotaPeriod,
      ...(rule.unit ? { unit: rule.unit } : {}),
    };
  }

  private part(value: number | null): number | null {
    return value === null ? null : Math.max(1, Math.floor(value * this.share));
  }

  private markDown(err: unknown, epoch: number, op: string): void {
    // A bad argument (e.g. NaN tokens) is a bug of the caller, not an outage.
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    if (this.current === 'down' || epoch !== this.epoch) return;
    this.current = 'down';
    this.epoch++;
    this.dropped = 0;
    this.nextProbeAt = this.clock() + this.retryMs;
    const why = err instanceof LimiterNotSeeded ? 'lost its counts (they are being rebuilt from the ledger)' : 'is unreachable';
    this.logger?.warn(
      { err, op, policy: this.policy, failOpenShare: this.policy === 'fail-open' ? this.share : undefined },
      this.policy === 'fail-open'
        ? `limiter: the limit store ${why}; deciding locally with a share of each limit until it is back`
        : `limiter: the limit store ${why}; refusing governed requests (503) until it is back`,
    );
    if (this.policy === 'fail-open') this.startFromLastKnown();
    this.notify('down');
  }

  /** Raises the local counters to this node's share of what the primary last said of each limit. */
  private startFromLastKnown(): void {
    for (const [id, use] of this.lastKnown?.() ?? []) {
      this.local.assume(id, use.windowUsed * this.share, use.quota && { ...use.quota, used: use.quota.used * this.share });
    }
  }

  private markUp(): void {
    if (this.current === 'up') return;
    this.current = 'up';
    this.epoch++;
    this.logger?.info({ droppedSettlements: this.dropped }, 'limiter: the limit store is reachable again; decisions come from it');
    this.dropped = 0;
    this.notify('up');
  }

  private drop(err: unknown, epoch: number, op: string): void {
    this.markDown(err, epoch, op);
    this.dropped++;
    // One warning per outage; the count is logged on recovery.
    if (this.dropped === 1) this.logger?.warn({ err, op }, 'limiter: a settlement could not reach the limit store and is dropped (its reservation expires there)');
  }

  private notify(state: LimiterState): void {
    try {
      this.onStateChange?.(state);
    } catch (err) {
      this.logger?.error({ err }, 'limiter: onStateChange failed');
    }
  }
}

function routed(result: ReserveResult, byPrimary: boolean): ReserveResult {
  if (!result.ok) return result;
  return { ok: true, reservation: new RoutedReservation(result.reservation.tokens, result.reservation, byPrimary), standing: result.standing };
}

function asRouted(reservation: Reservation): RoutedReservation {
  if (!(reservation instanceof RoutedReservation)) throw new TypeError('not a reservation of this limiter');
  return reservation;
}
