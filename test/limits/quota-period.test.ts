import { describe, expect, it } from 'vitest';
import { QUOTA_PERIODS, type QuotaPeriod } from '../../src/domain/model.js';
import { PERIOD_NOUN, periodEnd, periodStart } from '../../src/limits/quota-period.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** [period, instant, expected start, expected end] — all UTC. */
const cases: Array<[QuotaPeriod, number, number, number]> = [
  // Hourly: the top of the hour starts a new one; the last millisecond still belongs to the old one.
  ['hourly', Date.UTC(2030, 4, 15, 10, 0, 0, 0), Date.UTC(2030, 4, 15, 10), Date.UTC(2030, 4, 15, 11)],
  ['hourly', Date.UTC(2030, 4, 15, 10, 59, 59, 999), Date.UTC(2030, 4, 15, 10), Date.UTC(2030, 4, 15, 11)],
  ['hourly', Date.UTC(2030, 4, 15, 23, 30), Date.UTC(2030, 4, 15, 23), Date.UTC(2030, 4, 16, 0)],
  ['hourly', Date.UTC(2030, 11, 31, 23, 59, 59, 999), Date.UTC(2030, 11, 31, 23), Date.UTC(2031, 0, 1, 0)],
  ['hourly', Date.UTC(2028, 1, 29, 23, 0), Date.UTC(2028, 1, 29, 23), Date.UTC(2028, 2, 1, 0)],

  // Daily.
  ['daily', Date.UTC(2030, 4, 15, 0, 0, 0, 0), Date.UTC(2030, 4, 15), Date.UTC(2030, 4, 16)],
  ['daily', Date.UTC(2030, 4, 15, 23, 59, 59, 999), Date.UTC(2030, 4, 15), Date.UTC(2030, 4, 16)],
  ['daily', Date.UTC(2030, 0, 31, 12), Date.UTC(2030, 0, 31), Date.UTC(2030, 1, 1)],
  ['daily', Date.UTC(2028, 1, 28, 12), Date.UTC(2028, 1, 28), Date.UTC(2028, 1, 29)],
  ['daily', Date.UTC(2028, 1, 29, 12), Date.UTC(2028, 1, 29), Date.UTC(2028, 2, 1)],
  ['daily', Date.UTC(2030, 1, 28, 12), Date.UTC(2030, 1, 28), Date.UTC(2030, 2, 1)],
  ['daily', Date.UTC(2030, 11, 31, 18), Date.UTC(2030, 11, 31), Date.UTC(2031, 0, 1)],

  // Weekly: weeks start on Monday 00:00 UTC. 2030-05-13 and 2030-05-20 are Mondays.
  ['weekly', Date.UTC(2030, 4, 15, 9), Date.UTC(2030, 4, 13), Date.UTC(2030, 4, 20)], // Wednesday
  ['weekly', Date.UTC(2030, 4, 13, 0, 0, 0, 0), Date.UTC(2030, 4, 13), Date.UTC(2030, 4, 20)], // Monday 00:00
  ['weekly', Date.UTC(2030, 4, 19, 23, 59, 59, 999), Date.UTC(2030, 4, 13), Date.UTC(2030, 4, 20)], // Sunday, last ms
  ['weekly', Date.UTC(2030, 4, 20, 0, 0, 0, 0), Date.UTC(2030, 4, 20), Date.UTC(2030, 4, 27)], // next Monday 00:00
  // Across a year: 2029-12-31 is a Monday, 2030-01-06 a Sunday.
  ['weekly', Date.UTC(2030, 0, 6, 23, 59, 59, 999), Date.UTC(2029, 11, 31), Date.UTC(2030, 0, 7)],
  ['weekly', Date.UTC(2030, 0, 1, 0, 0), Date.UTC(2029, 11, 31), Date.UTC(2030, 0, 7)],
  // Across a leap day: 2028-02-29 is a Tuesday; its week started Monday 2028-02-28.
  ['weekly', Date.UTC(2028, 1, 29, 12), Date.UTC(2028, 1, 28), Date.UTC(2028, 2, 6)],
  // 2024-12-29 is a Sunday: it belongs to the week of Monday 2024-12-23.
  ['weekly', Date.UTC(2024, 11, 29, 23, 59, 59, 999), Date.UTC(2024, 11, 23), Date.UTC(2024, 11, 30)],

  // Monthly, including month ends of every length.
  ['monthly', Date.UTC(2030, 0, 1, 0, 0, 0, 0), Date.UTC(2030, 0, 1), Date.UTC(2030, 1, 1)],
  ['monthly', Date.UTC(2030, 0, 31, 23, 59, 59, 999), Date.UTC(2030, 0, 1), Date.UTC(2030, 1, 1)], // Jan 31 → Feb
  ['monthly', Date.UTC(2030, 1, 1, 0, 0, 0, 0), Date.UTC(2030, 1, 1), Date.UTC(2030, 2, 1)],
  ['monthly', Date.UTC(2030, 1, 28, 23, 59, 59, 999), Date.UTC(2030, 1, 1), Date.UTC(2030, 2, 1)], // non-leap Feb
  ['monthly', Date.UTC(2028, 1, 29, 23, 59, 59, 999), Date.UTC(2028, 1, 1), Date.UTC(2028, 2, 1)], // Feb 29, 2028
  ['monthly', Date.UTC(2030, 3, 30, 12), Date.UTC(2030, 3, 1), Date.UTC(2030, 4, 1)], // 30-day month
  ['monthly', Date.UTC(2030, 11, 31, 23, 59, 59, 999), Date.UTC(2030, 11, 1), Date.UTC(2031, 0, 1)], // Dec 31 → next year

  // Yearly.
  ['yearly', Date.UTC(2030, 0, 1, 0, 0, 0, 0), Date.UTC(2030, 0, 1), Date.UTC(2031, 0, 1)],
  ['yearly', Date.UTC(2030, 11, 31, 23, 59, 59, 999), Date.UTC(2030, 0, 1), Date.UTC(2031, 0, 1)],
  ['yearly', Date.UTC(2028, 1, 29, 6), Date.UTC(2028, 0, 1), Date.UTC(2029, 0, 1)],
];

describe('quota periods', () => {
  it.each(cases)('%s period of %s', (period, t, start, end) => {
    const s = periodStart(period, t);
    expect(new Date(s).toISOString()).toBe(new Date(start).toISOString());
    expect(new Date(periodEnd(period, s)).toISOString()).toBe(new Date(end).toISOString());
    // The start is the first instant of the period; the end is the first instant of the next one.
    expect(periodStart(period, s)).toBe(s);
    expect(periodStart(period, end - 1)).toBe(s);
    expect(periodStart(period, end)).toBe(end);
  });

  it('the end of one period is the start of the next, for consecutive periods', () => {
    for (const period of QUOTA_PERIODS) {
      let start = periodStart(period, Date.UTC(2027, 10, 20, 17, 45));
      for (let i = 0; i < 40; i++) {
        const end = periodEnd(period, start);
        expect(end, `${period} after ${new Date(start).toISOString()}`).toBeGreaterThan(start);
        expect(periodStart(period, end)).toBe(end);
        expect(periodStart(period, end - 1)).toBe(start);
        start = end;
      }
    }
  });

  it('periods have the right shape: UTC midnight starts, Monday weeks, first of month, 1 January', () => {
    const t = Date.UTC(2030, 4, 15, 10, 20, 30, 400);
    expect(periodStart('hourly', t) % HOUR).toBe(0);
    expect(periodStart('daily', t) % DAY).toBe(0);
    expect(new Date(periodStart('weekly', t)).getUTCDay()).toBe(1);
    expect(new Date(periodStart('monthly', t)).getUTCDate()).toBe(1);
    const y = new Date(periodStart('yearly', t));
    expect([y.getUTCMonth(), y.getUTCDate()]).toEqual([0, 1]);
  });

  it('for many random instants, start <= t < end and the period has its length', () => {
    let seed = 0x5eed;
    const random = () => {
      // xorshift32: deterministic, so a failure can be reproduced.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const from = Date.UTC(1971, 0, 1);
    const to = Date.UTC(2200, 0, 1);
    for (let i = 0; i < 5_000; i++) {
      const t = Math.floor(from + random() * (to - from));
      for (const period of QUOTA_PERIODS) {
        const start = periodStart(period, t);
        const end = periodEnd(period, start);
        const at = `${period} at ${new Date(t).toISOString()}`;
        expect(start, at).toBeLessThanOrEqual(t);
        expect(end, at).toBeGreaterThan(t);
        const length = end - start;
        switch (period) {
          case 'hourly':
            expect(length, at).toBe(HOUR);
            break;
          case 'daily':
            expect(length, at).toBe(DAY);
            break;
          case 'weekly':
            expect(length, at).toBe(7 * DAY);
            expect(new Date(start).getUTCDay(), at).toBe(1);
            break;
          case 'monthly':
            expect([28, 29, 30, 31], at).toContain(length / DAY);
            expect(new Date(start).getUTCDate(), at).toBe(1);
            break;
          case 'yearly':
            expect([365, 366], at).toContain(length / DAY);
            break;
        }
      }
    }
  });

  it('has a noun for every period', () => {
    expect(QUOTA_PERIODS.map((p) => PERIOD_NOUN[p])).toEqual(['hour', 'day', 'week', 'month', 'year']);
  });
});
