import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Operation } from '../providers/provider.js';
import { idBoundAt, nodePart } from '../domain/ids.js';
import {
  LEDGER_ID_PREFIX,
  OUTCOMES,
  type LedgerEntry,
  type LimitScope,
  type LogQuery,
  type RecentUse,
  type Outcome,
  type RollupMark,
  type RollupRow,
  type Rollups,
  type UsageInterval,
  type UsagePoint,
  type UsageQuery,
  type UsageStore,
} from '../usage/ledger.js';
import { COUNTERS, INTERVALS, rollupsOf } from '../usage/rollups.js';
import type { Database } from './schema.js';
import { usageStatement } from './usage-query.js';

export { COUNTERS };
export const ROLLUP_TABLE = { minute: 'usage_minute', hour: 'usage_hour', day: 'usage_day' } as const satisfies Record<UsageInterval, keyof Database>;
const WRITER = nodePart(LEDGER_ID_PREFIX);

/** The ledger and its rollups on Kysely (SQLite or PostgreSQL). */
export class KyselyUsageStore implements UsageStore {
  constructor(protected readonly db: Kysely<Database>) {}

  async append(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await this.insertLog(trx, entries);
      await this.upsertRollups(trx, rollupsOf(entries));
    });
  }

  async appendLog(entries: readonly LedgerEntry[], mark: RollupMark): Promise<string | null> {
    if (entries.length === 0) return null;
    return this.db.transaction().execute(async (trx) => {
      // The mark first: the update locks it, so recoverRollups' claim waits for this transaction
      // (and then finds seen_ms moved: the writer lives); or it finds the mark already claimed.
      const touched = await trx.updateTable('ledger_rollup_marks').set({ seen_ms: mark.seenMs }).where('writer', '=', mark.writer).executeTakeFirst();
      const created = Number(touched.numUpdatedRows) === 0;
      if (created) await trx.insertInto('ledger_rollup_marks').values({ writer: mark.writer, through_id: mark.throughId, seen_ms: mark.seenMs }).execute();
      await this.insertLog(trx, entries);
      return created ? mark.throughId : null;
    });
  }

  async addRollups(rollups: Rollups, mark: RollupMark): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('ledger_rollup_marks')
        .set({ through_id: mark.throughId, seen_ms: mark.seenMs })
        .where('writer', '=', mark.writer)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) return false;
      await this.upsertRollups(trx, rollups);
      return true;
    });
  }

  async releaseMark(writer: string): Promise<void> {
    await this.db.deleteFrom('ledger_rollup_marks').where('writer', '=', writer).execute();
  }

  async recoverRollups(staleBeforeMs: number, self: string): Promise<number> {
    const stale = await this.db
      .selectFrom('ledger_rollup_marks')
      .selectAll()
      .where('seen_ms', '<', staleBeforeMs)
      .where('writer', '<>', self)
      .execute();
    let recovered = 0;
    for (const mark of stale) {
      recovered += await this.db.transaction().execute(async (trx) => {
        // Claim the mark: of two nodes recovering it at once, one deletes it, the other finds it gone.
        const claimed = await trx
          .deleteFrom('ledger_rollup_marks')
          .where('writer', '=', mark.writer)
          .where('through_id', '=', mark.through_id)
          .where('seen_ms', '=', mark.seen_ms)
          .executeTakeFirst();
        if (Number(claimed.numDeletedRows) === 0) return 0;
        const rows = await trx
          .selectFrom('request_log')
          .selectAll()
          .where('id', '>', mark.through_id)
          .where(sql<string>`substr(id, ${sql.lit(WRITER.start + 1)}, ${sql.lit(WRITER.length)})`, '=', mark.writer)
          .execute();
        if (rows.length > 0) await this.upsertRollups(trx, rollupsOf(rows.map(fromRow)));
        return rows.length;
      });
    }
    return recovered;
  }

  protected async insertLog(trx: Transaction<Database>, entries: readonly LedgerEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 200) {
      // A batch written again after its commit's answer was lost (the connection dropped) finds its
      // rows there: skipped, so the retry succeeds and the rows are summed once.
      await trx.insertInto('request_log').values(entries.slice(i, i + 200).map(toRow)).onConflict((oc) => oc.column('id').doNothing()).execute();
    }
  }

  /** Upserts in one order (table, then the rows as given): see the PostgreSQL store on lock order. */
  protected async upsertRollups(trx: Transaction<Database>, rollups: Rollups): Promise<void> {
    for (const interval of INTERVALS) {
      const rows: RollupRow[] = rollups[interval];
      const table = ROLLUP_TABLE[interval];
      for (let i = 0; i < rows.length; i += 200) {
        await trx
          .insertInto(table)
          .values(rows.slice(i, i + 200))
          .onConflict((oc) =>
            oc.columns(['gateway', 'bucket_ms', 'project', 'deployment', 'currency']).doUpdateSet(
              Object.fromEntries(COUNTERS.map((c) => [c, sql`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`])),
            ),
          )
          .execute();
      }
    }
  }

  async logs(q: LogQuery): Promise<LedgerEntry[]> {
    let query = this.db.selectFrom('request_log').selectAll().where('gateway', '=', q.gateway);
    // Ids are time-ordered: time bounds become id bounds, served by the (gateway, id) index.
    if (q.fromMs !== undefined) query = query.where('id', '>=', idBoundAt(LEDGER_ID_PREFIX, q.fromMs));
    if (q.toMs !== undefined) query = query.where('id', '<', idBoundAt(LEDGER_ID_PREFIX, q.toMs));
    if (q.project !== undefined) query = query.where('project', '=', q.project);
    if (q.deployment !== undefined) query = query.where('deployment', '=', q.deployment);
    if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
    // No index of its own (it would cost every insert): read through (gateway, id) in the time range.
    if (q.requestId !== undefined) query = query.where('request_id', '=', q.requestId);
    if (q.before !== undefined) query = query.where('id', '<', q.before);
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(fromRow);
  }

  async recentUse(fromMs: number): Promise<RecentUse[]> {
    const rows = await this.db
      .selectFrom('request_log')
      .select(['gateway', 'project', 'deployment', 'at_ms', 'latency_ms', 'total_tokens', 'cost_micros', 'currency'])
      .where('id', '>=', idBoundAt(LEDGER_ID_PREFIX, fromMs))
      .where('total_tokens', '>', 0)
      .execute();
    return rows.map((r) => ({
      gateway: r.gateway,
      project: r.project,
      deployment: r.deployment,
      startMs: Number(r.at_ms) - Number(r.latency_ms),
      tokens: Number(r.total_tokens),
      costMicros: Number(r.cost_micros ?? 0),
      currency: r.currency,
    }));
  }

  async entriesAfter(afterId: string, limit: number): Promise<LedgerEntry[]> {
    const rows = await this.db.selectFrom('request_log').selectAll().where('id', '>', afterId).orderBy('id', 'asc').limit(limit).execute();
    return rows.map(fromRow);
  }

  async usage(q: UsageQuery): Promise<UsagePoint[]> {
    const { rows } = await usageStatement(q, ROLLUP_TABLE[q.interval]).execute(this.db);
    // One row per (bucket, group, currency): merged into one point per (bucket, group).
    const points = new Map<string, UsagePoint>();
    for (const r of rows) {
      const n = (c: (typeof COUNTERS)[number]) => Number(r[c] ?? 0);
      const key = `${r.bucket_ms}\u0000${r.grp ?? ''}`;
      let p = points.get(key);
      if (!p) {
        p = {
          bucketMs: Number(r.bucket_ms),
          group: r.grp,
          requests: { ...(Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>), total: 0 },
          tokens: { prompt: 0, completion: 0, total: 0 },
          latencyMsSum: 0,
          cost: {},
        };
        points.set(key, p);
      }
      for (const o of OUTCOMES) p.requests[o] += n(o);
      p.requests.total += n('requests');
      p.tokens.prompt += n('prompt_tokens');
      p.tokens.completion += n('completion_tokens');
      p.tokens.total += n('total_tokens');
      p.latencyMsSum += n('latency_ms');
      const cost = n('cost_micros');
      if (r.currency && cost > 0) p.cost[r.currency] = (p.cost[r.currency] ?? 0) + cost;
    }
    return [...points.values()];
  }

  async prune(beforeMs: number, rollupsBeforeMs: number): Promise<number> {
    const result = await this.db.deleteFrom('request_log').where('id', '<', idBoundAt(LEDGER_ID_PREFIX, beforeMs)).executeTakeFirst();
    await this.db.deleteFrom('usage_minute').where('bucket_ms', '<', beforeMs).execute();
    await this.db.deleteFrom('usage_hour').where('bucket_ms', '<', rollupsBeforeMs).execute();
    return Number(result.numDeletedRows);
  }
}

export function toRow(e: LedgerEntry): Database['request_log'] {
  return {
    id: e.id,
    at_ms: e.atMs,
    request_id: e.requestId,
    gateway: e.gateway,
    project: e.project,
    deployment: e.deployment,
    operation: e.operation,
    stream: e.stream ? 1 : 0,
    status: e.status,
    outcome: e.outcome,
    error_code: e.errorCode,
    upstream_status: e.upstreamStatus,
    prompt_tokens: e.promptTokens,
    completion_tokens: e.completionTokens,
    total_tokens: e.totalTokens,
    latency_ms: e.latencyMs,
    upstream_ms: e.upstreamMs,
    overhead_ms: e.overheadMs,
    content: e.content,
    backend: e.backend ?? null,
    attempts: e.attempts ?? null,
    reserved_tokens: e.reservedTokens ?? null,
    max_tokens_capped: e.maxTokensCapped ?? null,
    limit_id: e.refusal?.limitId ?? null,
    limit_scope: e.refusal?.scope ?? null,
    limit_kind: e.refusal?.kind ?? null,
    limit_value: e.refusal?.limit ?? null,
    remaining_tokens: e.refusal?.remaining ?? null,
    message: e.message ?? null,
    cost_micros: e.costMicros ?? null,
    currency: e.currency ?? null,
  };
}

/** toRow's values in its column order, without the object in between (the SQLite writer binds these). */
export function toRowValues(e: LedgerEntry): unknown[] {
  return [
    e.id,
    e.atMs,
    e.requestId,
    e.gateway,
    e.project,
    e.deployment,
    e.operation,
    e.stream ? 1 : 0,
    e.status,
    e.outcome,
    e.errorCode,
    e.upstreamStatus,
    e.promptTokens,
    e.completionTokens,
    e.totalTokens,
    e.latencyMs,
    e.upstreamMs,
    e.overheadMs,
    e.content,
    e.backend ?? null,
    e.attempts ?? null,
    e.reservedTokens ?? null,
    e.maxTokensCapped ?? null,
    e.refusal?.limitId ?? null,
    e.refusal?.scope ?? null,
    e.refusal?.kind ?? null,
    e.refusal?.limit ?? null,
    e.refusal?.remaining ?? null,
    e.message ?? null,
    e.costMicros ?? null,
    e.currency ?? null,
  ];
}

function fromRow(r: Selectable<Database['request_log']>): LedgerEntry {
  return {
    id: r.id,
    atMs: Number(r.at_ms),
    requestId: r.request_id,
    gateway: r.gateway,
    project: r.project,
    deployment: r.deployment,
    operation: r.operation as Operation,
    stream: Number(r.stream) === 1,
    status: Number(r.status),
    outcome: r.outcome as Outcome,
    errorCode: r.error_code,
    upstreamStatus: r.upstream_status === null ? null : Number(r.upstream_status),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    totalTokens: Number(r.total_tokens),
    latencyMs: Number(r.latency_ms),
    upstreamMs: r.upstream_ms === null ? null : Number(r.upstream_ms),
    overheadMs: r.overhead_ms === null ? null : Number(r.overhead_ms),
    content: r.content,
    // Only rows of a pool carry them.
    ...(r.backend == null ? {} : { backend: r.backend }),
    ...(r.attempts == null ? {} : { attempts: Number(r.attempts) }),
    ...(r.reserved_tokens == null ? {} : { reservedTokens: Number(r.reserved_tokens) }),
    ...(r.max_tokens_capped == null ? {} : { maxTokensCapped: Number(r.max_tokens_capped) }),
    ...(r.message == null ? {} : { message: r.message }),
    ...(r.limit_id == null
      ? {}
      : {
          refusal: {
            limitId: r.limit_id,
            scope: r.limit_scope as LimitScope,
            kind: r.limit_kind as 'tpm' | 'quota' | 'budget',
            limit: Number(r.limit_value),
            remaining: r.remaining_tokens == null ? null : Number(r.remaining_tokens),
          },
        }),
    ...(r.currency == null ? {} : { costMicros: Number(r.cost_micros ?? 0), currency: r.currency }),
  };
}
