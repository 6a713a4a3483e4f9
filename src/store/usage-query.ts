import { sql, type RawBuilder } from 'kysely';
import { nodePart } from '../domain/ids.js';
import { INTERVAL_MS, LEDGER_ID_PREFIX, OUTCOMES, type Outcome, type UsageQuery } from '../usage/ledger.js';
import { COUNTERS } from '../usage/rollups.js';

/** Where a ledger id names the writer that wrote it (as in its rollup mark). */
const WRITER = nodePart(LEDGER_ID_PREFIX);

/** One summed bucket, as the database answers it (PostgreSQL sums bigints as numeric text). */
export type UsageSumRow = { bucket_ms: number | string; grp: string | null; currency: string } & Record<(typeof COUNTERS)[number], number | string | null>;

/**
 * The usage of a range, exact up to the last log write: the rollups, plus the log rows that no
 * rollup holds yet, summed into the same buckets. A writer's rows above its mark's throughId are
 * the ones its rollups lack (a few seconds' worth: rollups are written every few seconds); a
 * writer without a mark has all its rows in the rollups. The mark moves in the transaction that
 * adds the rollups, and recoverRollups drops a dead writer's mark in the one that rebuilds them,
 * so one statement — one snapshot, on SQLite and PostgreSQL alike — counts each row exactly once,
 * whichever side of those commits it reads.
 */
export function usageStatement(q: UsageQuery, rollupTable: string): RawBuilder<UsageSumRow> {
  const step = INTERVAL_MS[q.interval];
  const from = Math.floor(q.fromMs / step) * step;
  // A bucket belongs to the range when it starts before toMs: its rows end at the bucket's end.
  const rowsTo = Math.ceil(q.toMs / step) * step;
  const table = sql.table(rollupTable);
  const rolledGroup = q.groupBy ? sql`, ${sql.ref(q.groupBy)} as grp` : sql``;
  const loggedGroup =
    q.groupBy === 'deployment'
      ? sql`, coalesce(l.deployment, '') as grp`
      : q.groupBy === 'project'
        ? sql`, l.project as grp`
        : q.groupBy === 'gateway'
          ? sql`, l.gateway as grp`
          : sql``;
  // Without a gateway: every gateway's usage (the overview across gateways).
  const rolledGateway = q.gateway === undefined ? sql`1 = 1` : sql`gateway = ${q.gateway}`;
  const loggedGateway = q.gateway === undefined ? sql`1 = 1` : sql`l.gateway = ${q.gateway}`;
  const rolledFilter = sql.join(
    [
      ...(q.project !== undefined ? [sql`and project = ${q.project}`] : []),
      // The rollups keep "no deployment" as '', the log as null.
      ...(q.deployment !== undefined ? [sql`and deployment = ${q.deployment}`] : []),
    ],
    sql` `,
  );
  const loggedFilter = sql.join(
    [
      ...(q.project !== undefined ? [sql`and l.project = ${q.project}`] : []),
      ...(q.deployment !== undefined ? [sql`and coalesce(l.deployment, '') = ${q.deployment}`] : []),
    ],
    sql` `,
  );
  // A log row as a rollup row of one request, column for column.
  const loggedCounters = sql.join(
    COUNTERS.map((c) =>
      c === 'requests'
        ? sql`1 as requests`
        : isOutcome(c)
          ? sql`case when l.outcome = ${sql.lit(c)} then 1 else 0 end as ${sql.ref(c)}`
          : c === 'cost_micros'
            ? sql`coalesce(l.cost_micros, 0) as cost_micros`
            : sql`${sql.ref(`l.${c}`)} as ${sql.ref(c)}`,
    ),
  );
  const sums = sql.join(
    COUNTERS.map((c) => sql`sum(${sql.ref(c)}) as ${sql.ref(c)}`),
    sql`, `,
  );
  return sql<UsageSumRow>`
    select bucket_ms, ${q.groupBy ? sql`grp` : sql`null`} as grp, currency, ${sums}
      from (
        select bucket_ms${rolledGroup}, currency, ${sql.join(COUNTERS.map((c) => sql.ref(c)))}
          from ${table}
         where ${rolledGateway} and bucket_ms >= ${from} and bucket_ms < ${q.toMs} ${rolledFilter}
        union all
        select (l.at_ms / ${sql.lit(step)}) * ${sql.lit(step)} as bucket_ms${loggedGroup}, coalesce(l.currency, '') as currency, ${loggedCounters}
          from request_log l
          join ledger_rollup_marks m
            on m.writer = substr(l.id, ${sql.lit(WRITER.start + 1)}, ${sql.lit(WRITER.length)}) and l.id > m.through_id
         where ${loggedGateway} and l.at_ms >= ${from} and l.at_ms < ${rowsTo} ${loggedFilter}
           -- The tail only: served by the (gateway, id) index, whatever the time range asked.
           and l.id > (select min(through_id) from ledger_rollup_marks)
      ) u
     group by bucket_ms${q.groupBy ? sql`, grp` : sql``}, currency
     order by bucket_ms`;
}

const isOutcome = (name: string): name is Outcome => (OUTCOMES as readonly string[]).includes(name);
