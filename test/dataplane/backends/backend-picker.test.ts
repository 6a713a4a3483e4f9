import { describe, expect, it } from 'vitest';
import { BackendPicker } from '../../../src/dataplane/backends/backend-picker.js';
import { MemoryBreakerStates } from '../../../src/dataplane/backends/circuit-breaker.js';
import { breakerPolicy, retryAttempts, retryOn } from '../../../src/snapshot/backend-policy.js';
import type { BackendPool, BackendRuntime, DeploymentRuntime } from '../../../src/snapshot/config-snapshot.js';

const base = { id: 'dep_1', name: 'd' } as DeploymentRuntime;
function pool(spec: [name: string, priority: number, weight: number][]): BackendPool {
  const backends: BackendRuntime[] = spec.map(([name, priority, weight]) => ({ name, priority, weight, key: `dep_1/${name}`, deployment: base }));
  return { backends, attempts: retryAttempts(null, backends.length), retryOn: retryOn(null), breaker: breakerPolicy(null) };
}

describe('BackendPicker', () => {
  it('shares traffic by weight with smooth weighted round-robin: within ±10 % over 1,000 requests, deterministic', () => {
    const p = pool([
      ['a', 1, 1],
      ['b', 1, 2],
      ['c', 1, 7],
    ]);
    const run = () => {
      const picker = new BackendPicker(new MemoryBreakerStates());
      return Array.from({ length: 1000 }, () => picker.pick(p, new Set(), 0)!.name);
    };
    const picks = run();
    const share = (name: string) => picks.filter((n) => n === name).length / 1000;
    for (const [name, weight] of [['a', 0.1], ['b', 0.2], ['c', 0.7]] as const) {
      expect(share(name)).toBeGreaterThanOrEqual(weight * 0.9);
      expect(share(name)).toBeLessThanOrEqual(weight * 1.1);
    }
    expect(run()).toEqual(picks);
    // Smooth: the heavy backend's picks are spread, not one run of seven.
    expect(picks.slice(0, 10).join('')).not.toContain('ccccccc');
  });

  it('takes the highest-priority group with an eligible backend, skipping tried and tripped ones', () => {
    const breakers = new MemoryBreakerStates();
    const picker = new BackendPicker(breakers);
    const p = pool([
      ['low', 2, 1],
      ['a', 1, 1],
      ['b', 1, 1],
    ]);
    // Ordered by priority as the snapshot orders them.
    const sorted = { ...p, backends: [...p.backends].sort((x, y) => x.priority - y.priority) };
    expect(['a', 'b']).toContain(picker.pick(sorted, new Set(), 0)!.name);
    expect(picker.pick(sorted, new Set(['a', 'b']), 0)!.name).toBe('low');
    breakers.failed('dep_1/a', sorted.breaker, 0, 10_000);
    breakers.failed('dep_1/b', sorted.breaker, 0, 20_000);
    expect(picker.pick(sorted, new Set(), 1)!.name).toBe('low');
    expect(picker.pick(sorted, new Set(['low']), 1)).toBeNull();
    expect(picker.soonestRecovery(sorted, 1)).toBe(1); // low is closed
    breakers.failed('dep_1/low', sorted.breaker, 0, 30_000);
    expect(picker.soonestRecovery(sorted, 1)).toBe(10_000);
  });
});
