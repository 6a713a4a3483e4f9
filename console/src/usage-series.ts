import type { CostView, RequestCounts, UsageInterval, UsagePoint, UsageReport } from './api-types';

/** Turns the usage API's sparse series into dense chart rows: one row per bucket, zeros where nothing happened. */

export const INTERVAL_MS: Record<UsageInterval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Bucket starts covering [from, to): buckets are aligned to the interval, as the API aligns them. */
export function bucketStarts(fromIso: string, toIso: string, interval: UsageInterval): number[] {
  const step = INTERVAL_MS[interval];
  const from = Math.floor(Date.parse(fromIso) / step) * step;
  const to = Date.parse(toIso);
  const starts: number[] = [];
  for (let t = from; t < to; t += step) starts.push(t);
  return starts;
}

export interface GroupedRows {
  /** Group names in series order; row keys are s0, s1, … (names can hold dots, which chart keys read as paths). */
  groups: string[];
  rows: Array<{ t: number } & Record<string, number>>;
}

/** Total tokens per bucket for each group of a grouped report. */
export function tokensByGroup(report: UsageReport): GroupedRows {
  const key = report.groupBy ?? 'project';
  const groups = report.series.map((s) => s.group ?? s[key] ?? '(none)');
  const byBucket = report.series.map((s) => indexByBucket(s.points));
  const rows = bucketStarts(report.from, report.to, report.interval).map((t) => {
    const row: { t: number } & Record<string, number> = { t };
    byBucket.forEach((points, i) => {
      row[`s${i}`] = points.get(t)?.tokens.total ?? 0;
    });
    return row;
  });
  return { groups, rows };
}

export interface OutcomeRow {
  t: number;
  ok: number;
  rateLimited: number;
  quotaExceeded: number;
  neverFits: number;
  errors: number;
}

/** Requests per bucket by outcome, summed over every group: ok, 429, 403 and every other failure. */
export function requestsByOutcome(report: UsageReport): OutcomeRow[] {
  const sums = new Map<number, RequestCounts>();
  for (const series of report.series) {
    for (const p of series.points) {
      const t = Date.parse(p.t);
      const sum = sums.get(t);
      if (!sum) sums.set(t, { ...p.requests });
      else for (const k of Object.keys(sum) as Array<keyof RequestCounts>) sum[k] += p.requests[k];
    }
  }
  return bucketStarts(report.from, report.to, report.interval).map((t) => {
    const r = sums.get(t);
    return {
      t,
      ok: r?.ok ?? 0,
      rateLimited: r?.rate_limited ?? 0,
      quotaExceeded: r?.quota_exceeded ?? 0,
      neverFits: r?.never_fits ?? 0,
      errors: r ? r.rejected + r.upstream_error + r.client_aborted : 0,
    };
  });
}

/** Micro-units as an exact decimal amount of the currency: 1234567 → "1.234567". */
export function formatMicros(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  return `${whole}.${String(micros - whole * 1_000_000).padStart(6, '0')}`;
}

/** A cost by currency as text: "0.012345 USD" (several joined), or "—" when nothing was priced. */
export function costText(cost: CostView | Record<string, number>): string {
  const parts = Object.entries(cost)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, v]) => `${typeof v === 'number' ? formatMicros(v) : v.amount} ${currency}`);
  return parts.length === 0 ? '—' : parts.join(', ');
}

function indexByBucket(points: UsagePoint[]): Map<number, UsagePoint> {
  return new Map(points.map((p) => [Date.parse(p.t), p]));
}
