import type { QuotaPeriod } from '../domain/model.js';

/** A limit as the limiter sees it: its identity and its current values (which may change live). */
export interface LimitRule {
  readonly id: string;
  /**
   * Limits with the same tag can apply to one request together (they belong to one project on one
   * gateway); a distributed limiter may keep them side by side (one Redis Cluster slot).
   */
  readonly tag?: string;
  readonly tokensPerMinute: number | null;
  readonly tokenQuota: number | null;
  readonly quotaPeriod: QuotaPeriod | null;
  /**
   * What the rule counts: tokens (absent), or money in micro-units (a budget: its `tokenQuota` is
   * the budget in micro-units per `quotaPeriod`, and it has no per-minute limit). Each rule is
   * charged the request's amount in its unit, in the same all-or-nothing step.
   */
  readonly unit?: 'micros';
}

/** The amount of a rule's unit: tokens, or micro-units for a budget. */
export const amountFor = (rule: Pick<LimitRule, 'unit'>, tokens: number, micros: number): number => (rule.unit === 'micros' ? micros : tokens);

/** Where the request stands against the tightest applicable TPM limit and quota after a decision. */
export interface Standing {
  tpm: { limit: number; remaining: number; resetSeconds: number } | null;
  quota: { limit: number; remaining: number; period: QuotaPeriod; resetAt: number } | null;
}

/** An admitted request's hold on its limits, until it is settled or released. Opaque to callers. */
export interface Reservation {
  readonly tokens: number;
}

export type Refusal = {
  readonly ok: false;
  readonly rule: LimitRule;
  readonly kind: 'tpm' | 'quota';
  /** The limit's value that refused: tokens per minute, or the quota. */
  readonly limit: number;
  /** Whole seconds until the request would fit; null when it never can (it is larger than the limit). */
  readonly retryAfterSeconds: number | null;
  /** For quotas: when the period ends (ms since epoch). */
  readonly periodEnd: number | null;
};

export type ReserveResult = { readonly ok: true; readonly reservation: Reservation; readonly standing: Standing } | Refusal;

/** What the shared count last said of a limit's use (see ResilientLimiter's lastKnown). */
export interface KnownUse {
  windowUsed: number;
  quota: { period: QuotaPeriod; start: number; used: number } | null;
}

/**
 * Redis does not hold counts this node can trust yet (they are being seeded from the ledger, or
 * Redis just lost them). An outage for the failure policy, not an error of the request.
 */
export class LimiterNotSeeded extends Error {
  constructor() {
    super('the limit store lost its counts; they are being rebuilt from the ledger');
    this.name = 'LimiterNotSeeded';
  }
}

/** Used and remaining for one limit now: what `GET .../limits/{id}/status` reports. */
export interface LimitStatus {
  tpm: { limit: number; used: number; remaining: number; resetAt: number } | null;
  quota: { limit: number; used: number; remaining: number; period: QuotaPeriod; periodStart: number; resetAt: number } | null;
}

/**
 * Token accounting against limits. Reserve before forwarding, all-or-nothing across every rule
 * that applies, so concurrent requests cannot overshoot; then settle to the real usage or release.
 * Implementations: in memory (one process) and Redis (a cluster sharing one count); both pass the
 * same contract suite.
 */
export interface Limiter {
  /**
   * Reserves `tokens` against every token rule and `micros` (the worst-case cost, in micro-units)
   * against every budget rule, all or nothing.
   */
  reserve(rules: readonly LimitRule[], tokens: number, micros?: number): Promise<ReserveResult>;
  /** Replaces the reservation by the tokens and cost actually used (less: returned; more: charged). */
  settle(reservation: Reservation, usedTokens: number, usedMicros?: number): Promise<void>;
  /** Returns the whole reservation (the upstream call failed). */
  release(reservation: Reservation): Promise<void>;
  peek(rule: LimitRule): Promise<LimitStatus>;
  close(): Promise<void>;
}
