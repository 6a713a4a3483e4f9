import { MAX_ATTEMPTS, type CircuitBreakerPolicy, type RetryPolicy } from '../domain/model.js';
import type { BreakerPolicy } from './config-snapshot.js';

/*
 * The documented defaults of a backend pool (docs/backends.md): retried on 429, 500, 502, 503,
 * 504, a refused (unreachable) connection and a timeout, up to one attempt per backend (at most
 * 5); a backend trips after 5 failures within 60 s on 429 or 5xx, for 30 s, or for as long as the
 * upstream's Retry-After says.
 */

export const DEFAULT_RETRY_ON = [429, 500, 502, 503, 504, 'unreachable', 'timeout'] as const;
export const DEFAULT_BREAKER = { failures: 5, intervalSeconds: 60, tripSeconds: 30, acceptRetryAfter: true } as const;
/** 429 and every 5xx. */
export const DEFAULT_TRIP_STATUSES: readonly number[] = [429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];

export function retryAttempts(policy: RetryPolicy | null | undefined, backends: number): number {
  return Math.max(1, policy?.attempts ?? Math.min(backends, MAX_ATTEMPTS));
}

export function retryOn(policy: RetryPolicy | null | undefined): ReadonlySet<number | string> {
  return new Set<number | string>(policy?.on ?? DEFAULT_RETRY_ON);
}

export function breakerPolicy(policy: CircuitBreakerPolicy | null | undefined): BreakerPolicy {
  return Object.freeze({
    failures: policy?.failures ?? DEFAULT_BREAKER.failures,
    intervalMs: (policy?.intervalSeconds ?? DEFAULT_BREAKER.intervalSeconds) * 1000,
    statusCodes: new Set(policy?.statusCodes ?? DEFAULT_TRIP_STATUSES),
    tripMs: (policy?.tripSeconds ?? DEFAULT_BREAKER.tripSeconds) * 1000,
    acceptRetryAfter: policy?.acceptRetryAfter ?? DEFAULT_BREAKER.acceptRetryAfter,
  });
}
