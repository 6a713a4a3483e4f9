import type { QuotaPeriod } from '../domain/model.js';

/**
 * Quota periods are fixed UTC calendar periods: an hourly quota resets at the top of each hour,
 * a weekly one on Monday 00:00 UTC, a monthly one on the 1st, a yearly one on 1 January.
 */
export function periodStart(period: QuotaPeriod, nowMs: number): number {
  const d = new Date(nowMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  switch (period) {
    case 'hourly':
      return Date.UTC(y, m, day, d.getUTCHours());
    case 'daily':
      return Date.UTC(y, m, day);
    case 'weekly': {
      const sinceMonday = (d.getUTCDay() + 6) % 7; // getUTCDay: 0 = Sunday
      return Date.UTC(y, m, day - sinceMonday);
    }
    case 'monthly':
      return Date.UTC(y, m, 1);
    case 'yearly':
      return Date.UTC(y, 0, 1);
  }
}

/** The first instant of the next period (exclusive end of the period that starts at `startMs`). */
export function periodEnd(period: QuotaPeriod, startMs: number): number {
  const d = new Date(startMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  switch (period) {
    case 'hourly':
      return startMs + 3_600_000;
    case 'daily':
      return Date.UTC(y, m, day + 1);
    case 'weekly':
      return Date.UTC(y, m, day + 7);
    case 'monthly':
      return Date.UTC(y, m + 1, 1);
    case 'yearly':
      return Date.UTC(y + 1, 0, 1);
  }
}

/** "hourly" → "hour", for messages such as "the token quota for this day is exhausted". */
export const PERIOD_NOUN: Record<QuotaPeriod, string> = {
  hourly: 'hour',
  daily: 'day',
  weekly: 'week',
  monthly: 'month',
  yearly: 'year',
};
