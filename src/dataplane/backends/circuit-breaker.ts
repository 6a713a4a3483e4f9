import type { BreakerPolicy } from '../../snapshot/config-snapshot.js';

export type BreakerPhase = 'closed' | 'open' | 'half-open';

/** What a breaker shows of itself (GET …/deployments/{d}/backends). */
export interface BreakerView {
  phase: BreakerPhase;
  /** While tripped or half-open: until when it is (was) open, epoch ms; null when closed. */
  openUntil: number | null;
  /** Counted failures within the policy's interval (reset by a trip). */
  recentFailures: number;
}

/**
 * The circuit-breaker state of backends, by key (deployment id and backend name). Behind this
 * interface so a state shared by every node (Redis) can replace the one-node memory below.
 * Times are epoch milliseconds, passed in so tests and callers agree on "now".
 */
export interface BreakerStates {
  /** Whether a request may be sent to the backend now (no side effect). */
  available(key: string, nowMs: number): boolean;
  /**
   * Claims a request to the backend: always granted when closed; when its trip is over, granted
   * once — the half-open probe, whose outcome closes or re-opens it.
   */
  acquire(key: string, nowMs: number): boolean;
  /** The backend answered with a status its breaker does not count: a half-open breaker closes. */
  succeeded(key: string): void;
  /** A counted failure; `retryAfterMs` (the upstream's own wait, when trusted) trips it for exactly that long. */
  failed(key: string, policy: BreakerPolicy, nowMs: number, retryAfterMs: number | null): void;
  /** A claimed request ended with no verdict on the backend (the client left): a probe may go again. */
  abandoned(key: string): void;
  /** When the backend takes requests again (epoch ms); `nowMs` when it does now. */
  recoversAt(key: string, nowMs: number): number;
  phase(key: string, nowMs: number): BreakerPhase;
  inspect(key: string, policy: BreakerPolicy, nowMs: number): BreakerView;
}

interface State {
  /** Times of the counted failures within the interval, oldest first. */
  failures: number[];
  /** While tripped: until when. 0: closed. */
  openUntil: number;
  /** A half-open probe is in flight. */
  probing: boolean;
}

/** How long a backend whose probe is in flight counts as unavailable, for Retry-After. */
const PROBE_WAIT_MS = 1000;

/** Breaker state in this process: each node judges its backends alone (docs/backends.md). */
export class MemoryBreakerStates implements BreakerStates {
  private readonly states = new Map<string, State>();

  available(key: string, nowMs: number): boolean {
    const s = this.states.get(key);
    if (!s || s.openUntil === 0) return true;
    return nowMs >= s.openUntil && !s.probing;
  }

  acquire(key: string, nowMs: number): boolean {
    const s = this.states.get(key);
    if (!s || s.openUntil === 0) return true;
    if (nowMs < s.openUntil || s.probing) return false;
    s.probing = true;
    return true;
  }

  succeeded(key: string): void {
    const s = this.states.get(key);
    // A probe's success closes the breaker; a closed one keeps counting failures within its interval.
    if (s && s.openUntil !== 0) this.states.delete(key);
  }

  failed(key: string, policy: BreakerPolicy, nowMs: number, retryAfterMs: number | null): void {
    let s = this.states.get(key);
    if (!s) this.states.set(key, (s = { failures: [], openUntil: 0, probing: false }));
    if (retryAfterMs !== null && policy.acceptRetryAfter) {
      this.trip(s, nowMs + retryAfterMs);
      return;
    }
    if (s.probing) {
      // The probe failed: open again for a whole trip.
      this.trip(s, nowMs + policy.tripMs);
      return;
    }
    const from = nowMs - policy.intervalMs;
    while (s.failures.length > 0 && s.failures[0]! <= from) s.failures.shift();
    s.failures.push(nowMs);
    if (s.failures.length >= policy.failures) this.trip(s, nowMs + policy.tripMs);
  }

  abandoned(key: string): void {
    const s = this.states.get(key);
    if (s) s.probing = false;
  }

  recoversAt(key: string, nowMs: number): number {
    const s = this.states.get(key);
    if (!s || s.openUntil === 0) return nowMs;
    if (s.probing) return Math.max(nowMs + PROBE_WAIT_MS, s.openUntil);
    return Math.max(nowMs, s.openUntil);
  }

  phase(key: string, nowMs: number): BreakerPhase {
    const s = this.states.get(key);
    if (!s || s.openUntil === 0) return 'closed';
    return nowMs < s.openUntil ? 'open' : 'half-open';
  }

  inspect(key: string, policy: BreakerPolicy, nowMs: number): BreakerView {
    const s = this.states.get(key);
    if (!s) return { phase: 'closed', openUntil: null, recentFailures: 0 };
    const from = nowMs - policy.intervalMs;
    return {
      phase: this.phase(key, nowMs),
      openUntil: s.openUntil === 0 ? null : s.openUntil,
      recentFailures: s.failures.filter((t) => t > from).length,
    };
  }

  private trip(s: State, until: number): void {
    s.openUntil = until;
    s.failures = [];
    s.probing = false;
  }
}
