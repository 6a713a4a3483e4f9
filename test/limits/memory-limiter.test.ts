import { describe, expect, it } from 'vitest';
import type { LimitRule } from '../../src/limits/limiter.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { limiterContract } from '../contracts/limiter-contract.js';

limiterContract('MemoryLimiter', async (clock, options) => new MemoryLimiter({ clock, reservationTtlMs: options.reservationTtlMs }));

describe('MemoryLimiter checkpoints and ledger replay', () => {
  const T0 = Date.UTC(2026, 2, 10, 12, 0, 30);
  const rule: LimitRule = { id: 'l1', tokensPerMinute: 10_000, tokenQuota: 100_000, quotaPeriod: 'daily' };

  it('checkpoints settled usage only: what outstanding reservations hold is left out', async () => {
    let now = T0;
    const limiter = new MemoryLimiter({ clock: () => now });
    const settled = await limiter.reserve([rule], 500);
    if (!settled.ok) throw new Error('refused');
    await limiter.settle(settled.reservation, 120);
    now += 2000;
    const held = await limiter.reserve([rule], 900);
    expect(held.ok).toBe(true);

    const [checkpoint] = limiter.takeDirty({ withoutHolds: true });
    expect(checkpoint!.data.quota!.used).toBe(120);
    expect(checkpoint!.data.window.buckets.reduce((a, b) => a + b, 0)).toBe(120);
    // The live counters still hold the reservation.
    expect((await limiter.peek(rule)).quota!.used).toBe(1020);
    limiter.markDirty(['l1']);
    expect(limiter.takeDirty()[0]!.data.quota!.used).toBe(1020);
  });

  it('replays ledger usage: into the window while it is in it, into the quota while in the period', async () => {
    const now = T0;
    const limiter = new MemoryLimiter({ clock: () => now });
    limiter.replay([rule], 300, now - 10_000); // in the window and today
    limiter.replay([rule], 200, now - 5 * 60_000); // today, out of the window
    limiter.replay([rule], 700, now - 86_400_000); // yesterday
    limiter.replay([rule], 0, now);
    const status = await limiter.peek(rule);
    expect(status.tpm!.used).toBe(300);
    expect(status.quota!.used).toBe(500);
    // Restored from its own checkpoint, a replayed counter is the same.
    const copy = new MemoryLimiter({ clock: () => now });
    copy.restore(limiter.takeDirty());
    expect(await copy.peek(rule)).toEqual(status);
  });
});
