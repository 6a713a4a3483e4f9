import { describe, expect, it } from 'vitest';
import { RollingWindow, WINDOW_SECONDS } from '../../src/limits/rolling-window.js';

// Realistic epoch seconds, so the ring index (second % 60) is exercised away from zero.
const S = 1_900_000_000;

describe('RollingWindow', () => {
  it('is 60 one-second buckets wide', () => {
    expect(WINDOW_SECONDS).toBe(60);
  });

  it('is empty at first', () => {
    const w = new RollingWindow();
    expect(w.used(S)).toBe(0);
    expect(w.secondWhenEmpty(S)).toBe(S);
    expect(w.secondWhenFreed(S, 1)).toBeNull();
  });

  it('counts tokens admitted in the 60 seconds ending with the given second', () => {
    const w = new RollingWindow();
    w.add(S, 10);
    w.add(S, 5);
    expect(w.used(S)).toBe(15);
    w.add(S + 30, 20);
    expect(w.used(S + 30)).toBe(35);
    expect(w.used(S + 59)).toBe(35); // S is still inside: S+59-59 = S
    expect(w.used(S + 60)).toBe(20); // S has left
    expect(w.used(S + 89)).toBe(20);
    expect(w.used(S + 90)).toBe(0);
  });

  it('keeps a running total equal to the bucket sum over a long random run', () => {
    const w = new RollingWindow();
    const ledger = new Map<number, number>();
    let second = S;
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) / 2 ** 24;
    };
    for (let i = 0; i < 3_000; i++) {
      second += Math.floor(random() * 4); // 0..3 seconds on
      const tokens = 1 + Math.floor(random() * 50);
      w.add(second, tokens);
      ledger.set(second, (ledger.get(second) ?? 0) + tokens);
      let expected = 0;
      for (let s = second - 59; s <= second; s++) expected += ledger.get(s) ?? 0;
      expect(w.used(second)).toBe(expected);
    }
  });

  describe('adjust', () => {
    it('returns tokens to the second they were admitted in', () => {
      const w = new RollingWindow();
      w.add(S, 100);
      w.add(S + 10, 50);
      w.adjust(S, -40, S + 20);
      expect(w.used(S + 20)).toBe(110);
      // The correction went to second S: it leaves with S, not later.
      expect(w.used(S + 60)).toBe(50);
    });

    it('charges an overrun to the admitted second while it is in the window', () => {
      const w = new RollingWindow();
      w.add(S, 100);
      w.adjust(S, 30, S + 59);
      expect(w.used(S + 59)).toBe(130);
      expect(w.used(S + 60)).toBe(0);
    });

    it('never takes a bucket below zero', () => {
      const w = new RollingWindow();
      w.add(S, 10);
      w.add(S + 1, 7);
      w.adjust(S, -50, S + 1);
      expect(w.used(S + 1)).toBe(7);
    });

    it('a return for a second that has left the window is moot', () => {
      const w = new RollingWindow();
      w.add(S, 100);
      w.add(S + 30, 20);
      w.adjust(S, -60, S + 60);
      expect(w.used(S + 60)).toBe(20);
    });

    it('an overrun for a second that has left the window is charged to the current second', () => {
      const w = new RollingWindow();
      w.add(S, 100);
      w.adjust(S, 25, S + 70);
      expect(w.used(S + 70)).toBe(25);
      expect(w.used(S + 129)).toBe(25);
      expect(w.used(S + 130)).toBe(0);
    });

    it('a zero delta changes nothing', () => {
      const w = new RollingWindow();
      w.add(S, 10);
      w.adjust(S, 0, S + 5);
      w.adjust(S - 100, 0, S + 5);
      expect(w.used(S + 5)).toBe(10);
    });
  });

  describe('secondWhenFreed', () => {
    it('is the first second at which enough of the oldest tokens have left', () => {
      const w = new RollingWindow();
      w.add(S + 100, 10);
      w.add(S + 110, 20);
      w.add(S + 130, 30);
      const now = S + 140;
      expect(w.secondWhenFreed(now, 1)).toBe(S + 160);
      expect(w.secondWhenFreed(now, 10)).toBe(S + 160);
      expect(w.secondWhenFreed(now, 11)).toBe(S + 170);
      expect(w.secondWhenFreed(now, 30)).toBe(S + 170);
      expect(w.secondWhenFreed(now, 31)).toBe(S + 190);
      expect(w.secondWhenFreed(now, 60)).toBe(S + 190);
      expect(w.secondWhenFreed(now, 61)).toBeNull();
    });

    it('matches the window: at the returned second enough is freed, one second earlier it is not', () => {
      const w = new RollingWindow();
      const adds: Array<[number, number]> = [
        [S + 3, 7],
        [S + 17, 13],
        [S + 17, 2],
        [S + 41, 30],
        [S + 58, 1],
        [S + 62, 9],
      ];
      for (const [s, t] of adds) w.add(s, t);
      const now = S + 62;
      const usedNow = w.used(now);
      for (let needed = 1; needed <= usedNow; needed++) {
        const freed = w.secondWhenFreed(now, needed);
        expect(freed).not.toBeNull();
        const usedAt = (second: number) => adds.filter(([s]) => s > second - 60 && s <= second && s <= now).reduce((a, [, t]) => a + t, 0);
        expect(usedNow - usedAt(freed!), `needed ${needed}`).toBeGreaterThanOrEqual(needed);
        expect(usedNow - usedAt(freed! - 1), `needed ${needed}`).toBeLessThan(needed);
      }
    });

    it('skips returned tokens', () => {
      const w = new RollingWindow();
      w.add(S, 10);
      w.add(S + 5, 10);
      w.adjust(S, -10, S + 6);
      expect(w.secondWhenFreed(S + 6, 5)).toBe(S + 65);
    });
  });

  describe('secondWhenEmpty', () => {
    it('is when the newest tokens leave', () => {
      const w = new RollingWindow();
      w.add(S + 100, 10);
      w.add(S + 130, 30);
      expect(w.secondWhenEmpty(S + 140)).toBe(S + 190);
      w.adjust(S + 130, -30, S + 140);
      expect(w.secondWhenEmpty(S + 140)).toBe(S + 160);
      expect(w.secondWhenEmpty(S + 160)).toBe(S + 160);
    });
  });

  describe('gaps', () => {
    it('a gap of exactly 60 seconds clears everything', () => {
      const w = new RollingWindow();
      for (let s = S; s < S + 60; s++) w.add(s, 1);
      expect(w.used(S + 59)).toBe(60);
      w.add(S + 119, 4);
      expect(w.used(S + 119)).toBe(4);
    });

    it('a gap of 60 seconds after the last add clears the window', () => {
      const w = new RollingWindow();
      w.add(S, 10);
      w.add(S + 20, 10);
      expect(w.used(S + 80)).toBe(0);
      w.add(S + 80, 3);
      expect(w.used(S + 80)).toBe(3);
      expect(w.secondWhenEmpty(S + 80)).toBe(S + 140);
    });

    it('a huge gap clears the window and leaves no stale buckets behind', () => {
      const w = new RollingWindow();
      for (let s = S; s < S + 60; s++) w.add(s, s - S + 1);
      const later = S + 10_000_000;
      expect(w.used(later)).toBe(0);
      expect(w.secondWhenEmpty(later)).toBe(later);
      w.add(later + 7, 5);
      expect(w.used(later + 7)).toBe(5);
      expect(w.secondWhenFreed(later + 7, 5)).toBe(later + 67);
      expect(w.secondWhenFreed(later + 7, 6)).toBeNull();
    });

    it('a partial gap clears only the seconds that left', () => {
      const w = new RollingWindow();
      w.add(S, 10);
      w.add(S + 30, 20);
      expect(w.used(S + 60)).toBe(20);
      expect(w.used(S + 89)).toBe(20);
      expect(w.used(S + 90)).toBe(0);
    });
  });

  describe('clock step back', () => {
    it('an add for an earlier second is charged to the newest bucket, and used does not rewind', () => {
      const w = new RollingWindow();
      w.add(S + 100, 10);
      w.add(S + 90, 5); // clock stepped back 10 s
      expect(w.used(S + 90)).toBe(15);
      expect(w.used(S + 100)).toBe(15);
      // Both are in the bucket of S+100, so both leave at S+160 (not S+150).
      expect(w.used(S + 150)).toBe(15);
      expect(w.used(S + 159)).toBe(15);
      expect(w.used(S + 160)).toBe(0);
    });

    it('secondWhenEmpty after a step back still reports when the newest tokens leave', () => {
      const w = new RollingWindow();
      w.add(S + 50, 10);
      w.add(S + 100, 20);
      // The newest tokens (second S+100) leave at S+160, whatever the clock says now.
      expect(w.secondWhenEmpty(S + 95)).toBe(S + 160);
    });

    it('secondWhenFreed after a step back walks the window that is really held (oldest first)', () => {
      const w = new RollingWindow();
      w.add(S + 50, 10);
      w.add(S + 100, 20);
      // Needing 5: the 10 tokens of S+50 leave at S+110. Needing 15: also those of S+100, at S+160.
      expect(w.secondWhenFreed(S + 95, 5)).toBe(S + 110);
      expect(w.secondWhenFreed(S + 95, 15)).toBe(S + 160);
    });

    it('a return for a second still in the window is applied even if the clock stepped back', () => {
      const w = new RollingWindow();
      w.add(S + 100, 10);
      w.adjust(S + 100, -4, S + 95);
      expect(w.used(S + 100)).toBe(6);
    });
  });
});
