import { sql, type Kysely, type Selectable } from 'kysely';
import type { Operation } from '../providers/provider.js';
import { idBoundAt } from '../domain/ids.js';
import {
  INTERVAL_MS,
  LEDGER_ID_PREFIX,
  OUTCOMES,
  type LedgerEntry,
  type LogQuery,
  type Outcome,
  type UsageInterval,
  type UsagePoint,
  type UsageQuery,
  type UsageStore,
} from '../usage/ledger.js';
import type { Database, RollupRow } from './schema.js';

export const ROLLUP_TABLE = { minute: 'usage_minute', hour: 'usage_hour', day: 'usage_day' } as const satisfies Record<UsageInterval, keyof Database>;
export const COUNTERS = ['requests', ...OUTCOMES, 'prompt_tokens', 'completion_tokens', 'total_tokens', 'latency_ms'] as const;

/** The ledger and its rollups on Kysely (SQLite or PostgreSQL). */
export class KyselyUsageStore implements UsageStore {
  constructor(protected readonly db: Kysely<Database>) {}

  async append(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < entries.length; i += 200) {
        await trx.insertInto('request_log').values(entries.slice(i, i + 200).map(toRow)).execute();
      }
      for (const interval of ['minute', 'hour', 'day'] as const) {
        const rows = aggregate(entries, INTERVAL_MS[interval]);
        const table = ROLLUP_TABLE[interval];
        for (let i = 0; i < rows.length; i += 200) {
          await trx
            .insertInto(table)
            .values(rows.slice(i, i + 200))
            .onConflict((oc) =>
              oc.columns(['gateway', 'bucket_ms', 'project', 'deployment']).doUpdateSet(
                Object.fromEntries(COUNTERS.map((c) => [c, sql`${sql.ref(`${table}.${c}`)} + ${sql.ref(`excluded.${c}`)}`])),
              ),
            )
            .execute();
        }
      }
    });
  }

  async logs(q: LogQuery): Promise<LedgerEntry[]> {
    let query = this.db.selectFrom('request_log').selectAll().where('gateway', '=', q.gateway);
    // Ids are time-ordered: time bounds become id bounds, served by the (gateway, id) index.
    if (q.fromMs !== undefined) query = query.where('id', '>=', idBoundAt(LEDGER_ID_PREFIX, q.fromMs));
    if (q.toMs !== undefined) query = query.where('id', '<', idBoundAt(LEDGER_ID_PREFIX, q.toMs));
    if (q.project !== undefined) query = query.where('project', '=', q.project);
    if (q.deployment !== undefined) query = query.where('deployment', '=', q.deployment);
    if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
    if (q.before !== undefined) query = query.where('id', '<', q.before);
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(fromRow);
  }

  async usage(q: UsageQuery): Promise<UsagePoint[]> {
    const table = ROLLUP_TABLE[q.interval];
    const step = INTERVAL_MS[q.interval];
    const from = Math.floor(q.fromMs / step) * step;
    let query = this.db
      .selectFrom(table)
      .select((eb) => [
        'bucket_ms',
        ...COUNTERS.map((c) => eb.fn.sum<number>(c).as(c)),
        (q.groupBy ? sql<string | null>`${sql.ref(q.groupBy)}` : sql<string | null>`null`).as('grp'),
      ])
      .where('gateway', '=', q.gateway)
      .where('bucket_ms', '>=', from)
      .where('bucket_ms', '<', q.toMs);
    if (q.project !== undefined) query = query.where('project', '=', q.project);
    if (q.deployment !== undefined) query = query.where('deployment', '=', q.deployment);
    query = query.groupBy('bucket_ms');
    if (q.groupBy) query = query.groupBy(q.groupBy);
    const rows = await query.orderBy('bucket_ms').execute();
    return rows.map((r) => {
      const n = (c: (typeof COUNTERS)[number]) => Number((r as Record<string, unknown>)[c] ?? 0);
      const requests = Object.fromEntries(OUTCOMES.map((o) => [o, n(o)])) as Record<Outcome, number>;
      return {
        bucketMs: Number(r.bucket_ms),
        group: (r as { grp: string | null }).grp,
        requests: { ...requests, total: n('requests') },
        tokens: { prompt: n('prompt_tokens'), completion: n('completion_tokens'), total: n('total_tokens') },
        latencyMsSum: n('latency_ms'),
      };
    });
  }

  async prune(beforeMs: number, rollupsBeforeMs: number): Promise<number> {
    const result = await this.db.deleteFrom('request_log').where('id', '<', idBoundAt(LEDGER_ID_PREFIX, beforeMs)).executeTakeFirst();
    await this.db.deleteFrom('usage_minute').where('bucket_ms', '<', beforeMs).execute();
    await this.db.deleteFrom('usage_hour').where('bucket_ms', '<', rollupsBeforeMs).execute();
    return Number(result.numDeletedRows);
  }
}

/** Sums entries per (gateway, project, deployment, bucket) so each batch costs one upsert per bucket. */
export function aggregate(entries: readonly LedgerEntry[], step: number): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const e of entries) {
    const bucket = Math.floor(e.atMs / step) * step;
    const deployment = e.deployment ?? '';
    const key = `${e.gateway}\u0000${e.project}\u0000${deployment}\u0000${bucket}`;
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
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        latency_ms: 0,
      };
      rows.set(key, row);
    }
    row.requests += 1;
    row[e.outcome] += 1;
    row.prompt_tokens += e.promptTokens;
    row.completion_tokens += e.completionTokens;
    row.total_tokens += e.totalTokens;
    row.latency_ms += e.latencyMs;
  }
  return [...rows.values()];
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
  };
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
  };
}
