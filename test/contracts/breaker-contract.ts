import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BreakerStates } from '../../src/dataplane/backends/circuit-breaker.js';
import { breakerPolicy } from '../../src/snapshot/backend-policy.js';
import { within } from '../support/cluster.js';

const policy = breakerPolicy({ failures: 3, intervalSeconds: 10, tripSeconds: 30 });

/**
 * The rules every `BreakerStates` keeps, one node's view (docs/backends.md): the in-memory state
 * and the Redis-shared one. Times are synthetic (passed in). A shared store may take a moment
 * to grant the half-open probe (its claim is a Redis round trip): `eventually` waits for it.
 */
export function breakerContract(name: string, make: () => Promise<BreakerStates>): void {
  const key = () => `dep-${randomBytes(4).toString('hex')}/a`;
  const eventually = (check: () => boolean) => within(1000, async () => check());

  describe(`BreakerStates contract: ${name}`, () => {
    it('starts closed', async () => {
      const b = await make();
      const k = key();
      expect(b.available(k, 1_000)).toBe(true);
      expect(b.acquire(k, 1_000)).toBe(true);
      expect(b.phase(k, 1_000)).toBe('closed');
      expect(b.recoversAt(k, 1_000)).toBe(1_000);
      expect(b.inspect(k, policy, 1_000)).toEqual({ phase: 'closed', openUntil: null, recentFailures: 0 });
    });

    it('trips at once for a trusted Retry-After, for exactly that long', async () => {
      const b = await make();
      const k = key();
      b.failed(k, policy, 1_000, 5_000);
      expect(b.available(k, 5_999)).toBe(false);
      expect(b.acquire(k, 5_999)).toBe(false);
      expect(b.phase(k, 5_999)).toBe('open');
      expect(b.recoversAt(k, 2_000)).toBe(6_000);
      expect(b.inspect(k, policy, 2_000)).toEqual({ phase: 'open', openUntil: 6_000, recentFailures: 0 });
      expect(b.phase(k, 6_000)).toBe('half-open');
    });

    it('counts failures up to the threshold, then trips for the trip time', async () => {
      const b = await make();
      const k = key();
      b.failed(k, policy, 1_000, null);
      b.failed(k, policy, 2_000, null);
      expect(b.inspect(k, policy, 2_000)).toEqual({ phase: 'closed', openUntil: null, recentFailures: 2 });
      expect(b.available(k, 2_000)).toBe(true);
      b.failed(k, policy, 3_000, null);
      expect(b.phase(k, 3_000)).toBe('open');
      expect(b.recoversAt(k, 3_000)).toBe(33_000);
    });

    it('lets one probe through after the trip: its success closes, its failure re-opens', async () => {
      const b = await make();
      const k = key();
      b.failed(k, policy, 1_000, 1_000);
      await eventually(() => b.available(k, 2_000));
      expect(b.acquire(k, 2_000)).toBe(true);
      expect(b.acquire(k, 2_001)).toBe(false); // one probe at a time
      expect(b.available(k, 2_001)).toBe(false);
      b.failed(k, policy, 2_500, null); // the probe failed: a whole trip again
      expect(b.phase(k, 2_500)).toBe('open');
      expect(b.recoversAt(k, 2_500)).toBe(32_500);
      await eventually(() => b.available(k, 32_500));
      expect(b.acquire(k, 32_500)).toBe(true);
      b.succeeded(k);
      expect(b.phase(k, 32_600)).toBe('closed');
      expect(b.available(k, 32_600)).toBe(true);
    });

    it('lets a probe go again when the claimed request is abandoned', async () => {
      const b = await make();
      const k = key();
      b.failed(k, policy, 1_000, 1_000);
      await eventually(() => b.available(k, 2_000));
      expect(b.acquire(k, 2_000)).toBe(true);
      b.abandoned(k);
      await eventually(() => b.available(k, 2_100));
      expect(b.acquire(k, 2_100)).toBe(true);
    });
  });
}
