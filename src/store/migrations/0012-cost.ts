import { PostgresAdapter, sql, type Kysely } from 'kysely';

const ROLLUPS = ['usage_minute', 'usage_hour', 'usage_day'] as const;

/**
 * Cost (docs/cost.md): a deployment's prices (JSON, null: none), a limit's money budget, each
 * ledger row's exact cost in micro-units with its currency, and the rollups summing cost per
 * currency. A rollup row's key gains its currency (a deployment's prices may change currency in
 * the middle of a bucket), so each rollup table is rebuilt with the wider key, its rows copied.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('pricing', 'text').execute();
  await db.schema.alterTable('limits').addColumn('budget_micros', 'bigint').execute();
  await db.schema.alterTable('limits').addColumn('budget_currency', 'text').execute();
  await db.schema.alterTable('limits').addColumn('budget_period', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('cost_micros', 'bigint').execute();
  await db.schema.alterTable('request_log').addColumn('currency', 'text').execute();

  const float8 = db.getExecutor().adapter instanceof PostgresAdapter ? 'double precision' : 'real';
  const counters = [
    'requests',
    'ok',
    'rate_limited',
    'quota_exceeded',
    'rejected',
    'upstream_error',
    'client_aborted',
    'prompt_tokens',
    'completion_tokens',
    'total_tokens',
  ];
  for (const table of ROLLUPS) {
    const next = `${table}_next`;
    let create = db.schema
      .createTable(next)
      .addColumn('gateway', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('deployment', 'text', (c) => c.notNull())
      .addColumn('bucket_ms', 'bigint', (c) => c.notNull())
      // '' for rows without cost (no prices, or nothing used).
      .addColumn('currency', 'text', (c) => c.notNull().defaultTo(''));
    for (const c of counters) create = create.addColumn(c, 'bigint', (col) => col.notNull());
    await create
      .addColumn('latency_ms', float8, (c) => c.notNull())
      .addColumn('cost_micros', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint(`${table}_cost_pk`, ['gateway', 'bucket_ms', 'project', 'deployment', 'currency'])
      .execute();
    const columns = ['gateway', 'project', 'deployment', 'bucket_ms', ...counters, 'latency_ms'].join(', ');
    await sql`insert into ${sql.table(next)} (${sql.raw(columns)}) select ${sql.raw(columns)} from ${sql.table(table)}`.execute(db);
    await db.schema.dropTable(table).execute();
    await db.schema.alterTable(next).renameTo(table).execute();
  }
}
