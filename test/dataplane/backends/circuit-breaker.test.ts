import { describe, expect, it } from 'vitest';
import { MemoryBreakerStates } from '../../../src/dataplane/backends/circuit-breaker.js';
import { retryAfterMs } from '../../../src/dataplane/backends/failover.js';
import { breakerContract } from '../../contracts/breaker-contract.js';
import { breakerPolicy } from '../../../src/snapshot/backend-policy.js';

const policy = breakerPolicy({ failures: 3, intervalSeconds: 10, tripSeconds: 30 });
const K = 'dep/a';

describe('MemoryBreakerStates', () => {
  it('trips on the configured failures within the interval, not on failures spread wider', () => {
    const b = new MemoryBreakerStates();
    b.failed(K, policy, 0, null);
    b.failed(K, policy, 5_000, null);
    b.succeeded(K); // successes in between do not forgive failures within the interval
    b.failed(K, policy, 10_500, null); // the first one has left the interval
    expect(b.phase(K, 10_500)).toBe('closed');
    b.failed(K, policy, 11_000, null);
    expect(b.phase(K, 11_000)).toBe('open');
    expect(b.available(K, 40_999)).toBe(false);
    expect(b.recoversAt(K, 20_000)).toBe(41_000);
  });

  it('lets one probe through after the trip; its success closes it, its failure re-opens it', () => {
    const b = new MemoryBreakerStates();
    b.failed(K, policy, 0, 1_000);
    expect(b.phase(K, 500)).toBe('open');
    expect(b.acquire(K, 999)).toBe(false);
    expect(b.phase(K, 1_000)).toBe('half-open');
    expect(b.acquire(K, 1_000)).toBe(true);
    expect(b.acquire(K, 1_001)).toBe(false); // one probe at a time
    b.failed(K, policy, 1_100, null);
    expect(b.phase(K, 1_100)).toBe('open');
    expect(b.recoversAt(K, 1_100)).toBe(31_100);
    expect(b.acquire(K, 31_100)).toBe(true);
    b.succeeded(K);
    expect(b.phase(K, 31_200)).toBe('closed');
    expect(b.acquire(K, 31_200) && b.acquire(K, 31_200)).toBe(true);
  });

  it("takes the upstream's wait only when acceptRetryAfter", () => {
    const b = new MemoryBreakerStates();
    b.failed(K, breakerPolicy({ acceptRetryAfter: false }), 0, 60_000);
    expect(b.phase(K, 1)).toBe('closed');
    b.failed(K, breakerPolicy(null), 0, 60_000);
    expect(b.recoversAt(K, 1)).toBe(60_000);
  });

  it('reads Retry-After (seconds or a date), retry-after-ms and x-ms-retry-after-ms', () => {
    expect(retryAfterMs({ 'retry-after': '7' })).toBe(7_000);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '7' })).toBe(250);
    expect(retryAfterMs({ 'x-ms-retry-after-ms': '1500' })).toBe(1_500);
    expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6_000);
    expect(retryAfterMs({})).toBeNull();
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeNull();
  });
});

breakerContract('memory', async () => new MemoryBreakerStates());
