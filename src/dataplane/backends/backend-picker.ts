import type { BackendPool, BackendRuntime } from '../../snapshot/config-snapshot.js';
import type { BreakerStates } from './circuit-breaker.js';
import { BackendTraffic } from './backend-traffic.js';

/**
 * Chooses the backend of each attempt: the highest-priority group (priority 1 first) with an
 * eligible backend — not tripped, not tried yet by this request — and within it by weight, with
 * smooth weighted round-robin (nginx's): deterministic, and the picks of a group interleave
 * rather than come in runs. One picker per node, shared by every request.
 */
export class BackendPicker {
  /** The current weights of smooth round-robin, by backend key. */
  private readonly current = new Map<string, number>();

  /** What this node sent to each backend, and how it went. */
  readonly traffic = new BackendTraffic();

  constructor(readonly breakers: BreakerStates) {}

  /** The next backend to try, claimed from its breaker; null when none is eligible. */
  pick(pool: BackendPool, tried: ReadonlySet<string>, nowMs: number): BackendRuntime | null {
    const backends = pool.backends;
    let i = 0;
    while (i < backends.length) {
      const priority = backends[i]!.priority;
      let end = i;
      while (end < backends.length && backends[end]!.priority === priority) end++;
      const chosen = this.pickInGroup(backends, i, end, tried, nowMs);
      if (chosen) return chosen;
      i = end;
    }
    return null;
  }

  /** When the soonest backend of the pool takes requests again (epoch ms). */
  soonestRecovery(pool: BackendPool, nowMs: number): number {
    let soonest = Infinity;
    for (const b of pool.backends) soonest = Math.min(soonest, this.breakers.recoversAt(b.key, nowMs));
    return soonest;
  }

  private pickInGroup(backends: readonly BackendRuntime[], from: number, to: number, tried: ReadonlySet<string>, nowMs: number): BackendRuntime | null {
    let total = 0;
    let best: BackendRuntime | null = null;
    let bestWeight = -Infinity;
    for (let i = from; i < to; i++) {
      const b = backends[i]!;
      if (tried.has(b.name)) continue;
      if (!this.breakers.available(b.key, nowMs)) {
        this.traffic.count(b.key, b.deployment.name, b.name, 'tripped_skip');
        continue;
      }
      const weight = (this.current.get(b.key) ?? 0) + b.weight;
      this.current.set(b.key, weight);
      total += b.weight;
      if (weight > bestWeight) {
        best = b;
        bestWeight = weight;
      }
    }
    if (!best) return null;
    this.current.set(best.key, bestWeight - total);
    // available() said yes and nothing ran since: the claim holds (it takes the probe when half-open).
    this.breakers.acquire(best.key, nowMs);
    return best;
  }
}
