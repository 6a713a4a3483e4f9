import type { QuotaPeriod } from '../domain/model.js';
import { systemClock, type Clock } from './clock.js';
import { amountFor, type LimitRule, type LimitStatus, type Limiter, type Refusal, type Reservation, type ReserveResult, type Standing } from './limiter.js';
import { periodEnd, periodStart } from './quota-period.js';
import { RollingWindow, WINDOW_SECONDS } from './rolling-window.js';

/** A limit's counters as plain data: what a checkpoint stores. */
export interface LimitStateData {
  window: { head: number; buckets: number[] };
  quota: { period: QuotaPeriod; start: number; used: number } | null;
}

/** Per-limit counters. Kept across changes of the limit's values: a change does not reset usage. */
class LimitState {
  window = new RollingWindow();
  quotaStart = -1;
  quotaPeriod: QuotaPeriod | null = null;
  quotaUsed = 0;

  /** Rolls the quota over when a new period has begun (or the period kind changed). */
  quotaUsedAt(period: QuotaPeriod, now: number): number {
    const start = periodStart(period, now);
    if (start !== this.quotaStart || period !== this.quotaPeriod) {
      this.quotaStart = start;
      this.quotaPeriod = period;
      this.quotaUsed = 0;
    }
    return this.quotaUsed;
  }
}

class MemoryReservation implements Reservation {
  /** The limits held, by id, for checkpointing. */
  ids: readonly string[] = [];
  done = false;
  /** Links in the limiter's list of outstanding reservations (oldest first). */
  prev: MemoryReservation | null = null;
  next: MemoryReservation | null = null;
  /** Set when the expiry sweep released it; a late settle then charges the full usage. */
  expired = false;

  constructor(
    readonly tokens: number,
    /** What each state holds: the tokens, or for a budget the cost in micro-units. */
    /** The cost in micro-units held by its budget rules (0: none). */
    readonly micros: number,
    /** The rules, in the order of `states`: a budget rule (unit micros) holds the cost, the others the tokens. */
    readonly rules: readonly LimitRule[],
    readonly second: number,
    readonly states: readonly LimitState[],
    /** Quota period start per state at reservation time (-1: no quota). */
    readonly quotaStarts: readonly number[],
    readonly expiresAt: number,
  ) {}
}

export interface MemoryLimiterOptions {
  clock?: Clock;
  /**
   * A reservation neither settled nor released within this time is released, so a bug or a
   * lost request can never hold quota forever. A settle that arrives later still charges in full.
   */
  reservationTtlMs?: number;
}

/**
 * The limiter of a single process: every decision is synchronous under the hood, so check-then-
 * apply across several limits is atomic without locks. O(1) per limit per decision, no timers.
 */
export class MemoryLimiter implements Limiter {
  private readonly states = new Map<string, LimitState>();
  private readonly clock: Clock;
  private readonly ttlMs: number;
  /** Limits whose counters changed since the last checkpoint. */
  private readonly dirty = new Set<string>();
  /**
   * Outstanding reservations, oldest first. With one TTL for all, that is expiry order: the sweep
   * looks only at the head, and settling unlinks in O(1), so the list holds only live holds.
   */
  private oldest: MemoryReservation | null = null;
  private newest: MemoryReservation | null = null;

  constructor(options: MemoryLimiterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.reservationTtlMs ?? 15 * 60_000;
  }

  async reserve(rules: readonly LimitRule[], tokens: number, micros = 0): Promise<ReserveResult> {
    return this.reserveNow(rules, tokens, micros);
  }

  reserveNow(rules: readonly LimitRule[], tokens: number, micros = 0): ReserveResult {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    this.sweep(now);

    const states: LimitState[] = new Array(rules.length);
    let refusal: Refusal | null = null;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const state = this.stateOf(rule.id);
      states[i] = state;
      refusal = worse(refusal, this.check(rule, state, amountFor(rule, tokens, micros), now, second));
    }
    if (refusal) return refusal;

    const quotaStarts: number[] = new Array(rules.length);
    for (let i = 0; i < rules.length; i++) {
      const state = states[i]!;
      const rule = rules[i]!;
      const amount = amountFor(rule, tokens, micros);
      this.dirty.add(rule.id);
      state.window.add(second, amount);
      if (rule.quotaPeriod !== null && rule.tokenQuota !== null) {
        state.quotaUsed += amount;
        quotaStarts[i] = state.quotaStart;
      } else {
        quotaStarts[i] = -1;
      }
    }
    const reservation = new MemoryReservation(tokens, micros, rules, second, states, quotaStarts, now + this.ttlMs);
    reservation.ids = rules.map((r) => r.id);
    this.link(reservation);
    return { ok: true, reservation, standing: this.standing(rules, states, now, second) };
  }

  async settle(reservation: Reservation, usedTokens: number, usedMicros = 0): Promise<void> {
    this.settleNow(reservation as MemoryReservation, Math.max(0, usedTokens), Math.max(0, usedMicros));
  }

  async release(reservation: Reservation): Promise<void> {
    const r = reservation as MemoryReservation;
    if (r.done) return;
    this.unlink(r);
    r.done = true;
    this.apply(r, null, 0);
  }

  async peek(rule: LimitRule): Promise<LimitStatus> {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    this.sweep(now);
    const state = this.stateOf(rule.id);
    const status: LimitStatus = { tpm: null, quota: null };
    if (rule.tokensPerMinute !== null) {
      const used = state.window.used(second);
      status.tpm = {
        limit: rule.tokensPerMinute,
        used,
        remaining: Math.max(0, rule.tokensPerMinute - used),
        resetAt: state.window.secondWhenEmpty(second) * 1000,
      };
    }
    if (rule.tokenQuota !== null && rule.quotaPeriod !== null) {
      const used = state.quotaUsedAt(rule.quotaPeriod, now);
      status.quota = {
        limit: rule.tokenQuota,
        used,
        remaining: Math.max(0, rule.tokenQuota - used),
        period: rule.quotaPeriod,
        periodStart: state.quotaStart,
        resetAt: periodEnd(rule.quotaPeriod, state.quotaStart),
      };
    }
    return status;
  }

  async close(): Promise<void> {}

  /**
   * Counters changed since the last call, to checkpoint (off the request path). `withoutHolds`
   * leaves out what outstanding reservations hold, so the checkpoint counts settled usage only:
   * the usage a ledger records. Rebuilt as checkpoint + the ledger rows recorded after it, counts
   * then hold every request once — those in flight at the checkpoint included.
   */
  takeDirty(options: { withoutHolds?: boolean } = {}): Array<{ id: string; data: LimitStateData }> {
    const out: Array<{ id: string; data: LimitStateData }> = [];
    for (const id of this.dirty) {
      const state = this.states.get(id);
      if (!state) continue;
      out.push({
        id,
        data: {
          window: state.window.toJSON(),
          quota: state.quotaPeriod === null ? null : { period: state.quotaPeriod, start: state.quotaStart, used: state.quotaUsed },
        },
      });
    }
    if (options.withoutHolds && out.length > 0) this.subtractHolds(out);
    this.dirty.clear();
    return out;
  }

  /**
   * Charges usage the ledger recorded at `atMs` (a request that began then and is settled): into
   * the window's second of `atMs` if it is still in the window, and into the quota if `atMs` falls
   * in the current period. For rebuilding counters after a crash; not for the request path.
   */
  replay(rules: readonly LimitRule[], usedTokens: number, atMs: number, usedMicros = 0): void {
    if (!(usedTokens > 0) && !(usedMicros > 0)) return;
    const now = this.clock();
    const second = Math.floor(now / 1000);
    const at = Math.min(Math.floor(atMs / 1000), second);
    for (const rule of rules) {
      const tokens = amountFor(rule, usedTokens, usedMicros);
      if (!(tokens > 0)) continue;
      const state = this.stateOf(rule.id);
      this.dirty.add(rule.id);
      if (at > second - WINDOW_SECONDS) state.window.adjust(at, tokens, second);
      if (rule.tokenQuota !== null && rule.quotaPeriod !== null) {
        state.quotaUsedAt(rule.quotaPeriod, now);
        if (atMs >= state.quotaStart) state.quotaUsed += tokens;
      }
    }
  }

  /**
   * Raises a limit's counters to at least what is known of it elsewhere (never lowers them): the
   * window to `windowUsed` (charged in the current second, so it stays a whole minute — on the side
   * of the ceiling), the quota to `quota.used` when its period is the current one.
   */
  assume(id: string, windowUsed: number, quota: { period: QuotaPeriod; start: number; used: number } | null): void {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    const state = this.stateOf(id);
    const inWindow = state.window.used(second);
    if (windowUsed > inWindow) state.window.add(second, windowUsed - inWindow);
    if (quota && state.quotaUsedAt(quota.period, now) < quota.used && state.quotaStart === quota.start) state.quotaUsed = quota.used;
  }

  /** Takes what outstanding reservations hold out of the given counters (in place). */
  private subtractHolds(out: Array<{ id: string; data: LimitStateData }>): void {
    const byId = new Map(out.map((o) => [o.id, o.data]));
    for (let r = this.oldest; r !== null; r = r.next) {
      for (let i = 0; i < r.ids.length; i++) {
        const data = byId.get(r.ids[i]!);
        if (!data) continue;
        const { window } = data;
        const held = amountFor(r.rules[i]!, r.tokens, r.micros);
        if (r.second <= window.head && r.second > window.head - WINDOW_SECONDS) {
          const b = r.second % WINDOW_SECONDS;
          window.buckets[b] = Math.max(0, window.buckets[b]! - held);
        }
        if (data.quota && r.quotaStarts[i] !== -1 && r.quotaStarts[i] === data.quota.start) {
          data.quota.used = Math.max(0, data.quota.used - held);
        }
      }
    }
  }

  /** Marks counters to be written again (their checkpoint failed). */
  markDirty(ids: Iterable<string>): void {
    for (const id of ids) if (this.states.has(id)) this.dirty.add(id);
  }

  /** Restores counters from a checkpoint, before serving. */
  restore(rows: Iterable<{ id: string; data: LimitStateData }>): void {
    for (const { id, data } of rows) {
      const state = this.stateOf(id);
      state.window = RollingWindow.fromJSON(data.window);
      if (data.quota) {
        state.quotaPeriod = data.quota.period;
        state.quotaStart = data.quota.start;
        state.quotaUsed = data.quota.used;
      }
    }
  }

  private settleNow(r: MemoryReservation, usedTokens: number, usedMicros: number): void {
    if (r.done && !r.expired) return;
    if (r.expired) {
      // Released by the sweep; the usage still counts, as a new charge.
      r.expired = false;
      for (const id of r.ids) this.dirty.add(id);
      const now = this.clock();
      const second = Math.floor(now / 1000);
      for (let i = 0; i < r.states.length; i++) {
        const state = r.states[i]!;
        const used = amountFor(r.rules[i]!, usedTokens, usedMicros);
        state.window.add(second, used);
        if (state.quotaPeriod !== null) {
          state.quotaUsedAt(state.quotaPeriod, now);
          state.quotaUsed += used;
        }
      }
      return;
    }
    this.unlink(r);
    r.done = true;
    this.apply(r, usedTokens, usedMicros);
  }

  /**
   * Corrects the reservation's counters to what was used (null: nothing, a release), where they
   * still belong to the current window/period.
   */
  private apply(r: MemoryReservation, usedTokens: number | null, usedMicros: number): void {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    for (let i = 0; i < r.states.length; i++) {
      const rule = r.rules[i]!;
      const delta = (usedTokens === null ? 0 : amountFor(rule, usedTokens, usedMicros)) - amountFor(rule, r.tokens, r.micros);
      if (delta === 0) continue;
      this.dirty.add(r.ids[i]!);
      const state = r.states[i]!;
      state.window.adjust(r.second, delta, second);
      const start = r.quotaStarts[i]!;
      if (start === -1 || state.quotaPeriod === null) continue;
      state.quotaUsedAt(state.quotaPeriod, now);
      if (state.quotaStart === start) state.quotaUsed = Math.max(0, state.quotaUsed + delta);
      else if (delta > 0) state.quotaUsed += delta; // an overrun that crossed into a new period
    }
  }

  /** The refusal this rule gives the request, if any (the worst, when both its TPM and quota refuse). */
  private check(rule: LimitRule, state: LimitState, tokens: number, now: number, second: number): Refusal | null {
    let quota: Refusal | null = null;
    let tpm: Refusal | null = null;
    if (rule.tokenQuota !== null && rule.quotaPeriod !== null) {
      const used = state.quotaUsedAt(rule.quotaPeriod, now);
      const end = periodEnd(rule.quotaPeriod, state.quotaStart);
      if (tokens > rule.tokenQuota) quota = refuse(rule, 'quota', rule.tokenQuota, null, end);
      else if (used + tokens > rule.tokenQuota) {
        quota = refuse(rule, 'quota', rule.tokenQuota, Math.max(1, Math.ceil((end - now) / 1000)), end);
      }
    }
    if (rule.tokensPerMinute !== null) {
      const used = state.window.used(second);
      if (tokens > rule.tokensPerMinute) tpm = refuse(rule, 'tpm', rule.tokensPerMinute, null, null);
      else if (used + tokens > rule.tokensPerMinute) {
        const freedAt = state.window.secondWhenFreed(second, used + tokens - rule.tokensPerMinute) ?? second + WINDOW_SECONDS;
        tpm = refuse(rule, 'tpm', rule.tokensPerMinute, Math.max(1, Math.ceil((freedAt * 1000 - now) / 1000)), null);
      }
    }
    return worse(quota, tpm);
  }

  private standing(rules: readonly LimitRule[], states: readonly LimitState[], now: number, second: number): Standing {
    const standing: Standing = { tpm: null, quota: null };
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const state = states[i]!;
      // The rate-limit headers speak of tokens: a budget's standing is its limit status.
      if (rule.unit === 'micros') continue;
      if (rule.tokensPerMinute !== null) {
        const remaining = Math.max(0, rule.tokensPerMinute - state.window.used(second));
        if (!standing.tpm || remaining < standing.tpm.remaining) {
          standing.tpm = {
            limit: rule.tokensPerMinute,
            remaining,
            resetSeconds: Math.max(0, Math.ceil((state.window.secondWhenEmpty(second) * 1000 - now) / 1000)),
          };
        }
      }
      if (rule.tokenQuota !== null && rule.quotaPeriod !== null) {
        const remaining = Math.max(0, rule.tokenQuota - state.quotaUsed);
        if (!standing.quota || remaining < standing.quota.remaining) {
          standing.quota = { limit: rule.tokenQuota, remaining, period: rule.quotaPeriod, resetAt: periodEnd(rule.quotaPeriod, state.quotaStart) };
        }
      }
    }
    return standing;
  }

  private stateOf(id: string): LimitState {
    let state = this.states.get(id);
    if (!state) this.states.set(id, (state = new LimitState()));
    return state;
  }

  private sweep(now: number): void {
    while (this.oldest !== null && this.oldest.expiresAt <= now) {
      const r = this.oldest;
      this.unlink(r);
      r.done = true;
      r.expired = true;
      this.apply(r, null, 0);
    }
  }

  private link(r: MemoryReservation): void {
    r.prev = this.newest;
    if (this.newest) this.newest.next = r;
    else this.oldest = r;
    this.newest = r;
  }

  private unlink(r: MemoryReservation): void {
    if (r.prev) r.prev.next = r.next;
    else if (this.oldest === r) this.oldest = r.next;
    if (r.next) r.next.prev = r.prev;
    else if (this.newest === r) this.newest = r.prev;
    r.prev = r.next = null;
  }
}

function refuse(rule: LimitRule, kind: 'tpm' | 'quota', limit: number, retryAfterSeconds: number | null, periodEnd: number | null): Refusal {
  return { ok: false, rule, kind, limit, retryAfterSeconds, periodEnd };
}

/**
 * Which refusal to report when several refuse: one that can never fit, then a quota, then TPM;
 * between equals, the one that lasts longest, so the request does fit after its Retry-After.
 */
function worse(a: Refusal | null, b: Refusal | null): Refusal | null {
  if (!a) return b;
  if (!b) return a;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra > rb ? a : b;
  return (b.retryAfterSeconds ?? 0) > (a.retryAfterSeconds ?? 0) ? b : a;
}

function rank(r: Refusal): number {
  return (r.retryAfterSeconds === null ? 2 : 0) + (r.kind === 'quota' ? 1 : 0);
}
