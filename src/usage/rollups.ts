import { INTERVAL_MS, OUTCOMES, type LedgerEntry, type RollupRow, type Rollups, type UsageInterval } from './ledger.js';

export const INTERVALS = ['minute', 'hour', 'day'] as const satisfies readonly UsageInterval[];

/** The summed columns of a rollup row. */
export const COUNTERS = ['requests', ...OUTCOMES, 'prompt_tokens', 'completion_tokens', 'total_tokens', 'latency_ms', 'cost_micros'] as const satisfies readonly (keyof RollupRow)[];

/** A rollup row's key: (gateway, project, deployment, bucket, currency). */
export const rollupKey = (r: Pick<RollupRow, 'gateway' | 'project' | 'deployment' | 'bucket_ms' | 'currency'>): string =>
  `${r.gateway}\u0000${r.project}\u0000${r.deployment}\u0000${r.bucket_ms}\u0000${r.currency}`;

/** Adds entries to rollup rows keyed by (gateway, project, deployment, bucket of `step` ms, currency). */
export function addToRollups(rows: Map<string, RollupRow>, entries: readonly LedgerEntry[], step: number): void {
  for (const e of entries) {
    const bucket = Math.floor(e.atMs / step) * step;
    const deployment = e.deployment ?? '';
    const currency = e.currency ?? '';
    const key = `${e.gateway}\u0000${e.project}\u0000${deployment}\u0000${bucket}\u0000${currency}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        gateway: e.gateway,
        project: e.project,
        deployment,
        bucket_ms: bucket,
        requests: 0,
        ok: 0,
        rate_limited: 0,
        quota_exceeded: 0,
        rejected: 0,
        upstream_error: 0,
        client_aborted: 0,
        never_fits: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        latency_ms: 0,
        currency,
        cost_micros: 0,
      };
      rows.set(key, row);
    }
    row.requests += 1;
    row[e.outcome] += 1;
    row.prompt_tokens += e.promptTokens;
    row.completion_tokens += e.completionTokens;
    row.total_tokens += e.totalTokens;
    row.latency_ms += e.latencyMs;
    row.cost_micros += e.costMicros ?? 0;
  }
}

/** Sums entries per (gateway, project, deployment, bucket) so each costs one upsert per bucket. */
export function aggregate(entries: readonly LedgerEntry[], step: number): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  addToRollups(rows, entries, step);
  return [...rows.values()];
}

/** The minute, hour and day rollups of some entries. */
export function rollupsOf(entries: readonly LedgerEntry[]): Rollups {
  return { minute: aggregate(entries, INTERVAL_MS.minute), hour: aggregate(entries, INTERVAL_MS.hour), day: aggregate(entries, INTERVAL_MS.day) };
}

/**
 * Sums entries into rollup rows in memory, across many log writes: with many projects each
 * request is its own (project, minute) row, so adding rollups per log batch costs three upserts a
 * request; a few seconds of sums cost one upsert per (project, bucket) instead.
 */
export class RollupAccumulator {
  private rows = { minute: new Map<string, RollupRow>(), hour: new Map<string, RollupRow>(), day: new Map<string, RollupRow>() };
  /** Id of the newest entry added. */
  private last: string | null = null;

  add(entries: readonly LedgerEntry[]): void {
    if (entries.length === 0) return;
    for (const interval of INTERVALS) addToRollups(this.rows[interval], entries, INTERVAL_MS[interval]);
    this.last = entries[entries.length - 1]!.id;
  }

  /** The newest entry added since the last take(), or null. */
  get throughId(): string | null {
    return this.last;
  }

  /** Rows held (all intervals). */
  get size(): number {
    return this.rows.minute.size + this.rows.hour.size + this.rows.day.size;
  }

  /** What was added since the last take(), and starts afresh. */
  take(): Rollups {
    const taken: Rollups = { minute: [...this.rows.minute.values()], hour: [...this.rows.hour.values()], day: [...this.rows.day.values()] };
    this.clear();
    return taken;
  }

  /** Puts back what a failed write took (merged with what came since), to be written next time. */
  restore(taken: Rollups, throughId: string): void {
    for (const interval of INTERVALS) {
      const rows = this.rows[interval];
      for (const row of taken[interval]) {
        const key = rollupKey(row);
        const held = rows.get(key);
        if (!held) rows.set(key, row);
        else for (const c of COUNTERS) held[c] += row[c];
      }
    }
    this.last ??= throughId;
  }

  clear(): void {
    this.rows = { minute: new Map(), hour: new Map(), day: new Map() };
    this.last = null;
  }
}
