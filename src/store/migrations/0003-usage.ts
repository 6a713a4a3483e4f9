import { PostgresAdapter, sql, type Kysely } from 'kysely';

const ROLLUPS = ['usage_minute', 'usage_hour', 'usage_day'] as const;

/**
 * The request ledger (one row per data-plane request) and usage rollups per minute, hour and day,
 * maintained as the ledger is written, so usage queries never scan raw logs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Millisecond latencies are 8-byte floats. SQLite's `real` is one (unchanged here, so SQLite
  // databases are created exactly as before); PostgreSQL's `real` is a 4-byte float4, whose 24-bit
  // mantissa would round latency sums in the rollups (and sum(real) is float4 too), so there the
  // same columns are `double precision`.
  const float8 = db.getExecutor().adapter instanceof PostgresAdapter ? 'double precision' : 'real';
  await db.schema
    .createTable('request_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('project', 'text', (c) => c.notNull())
    .addColumn('deployment', 'text')
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('stream', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('upstream_status', 'integer')
    .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
    .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
    .addColumn('total_tokens', 'bigint', (c) => c.notNull())
    .addColumn('latency_ms', float8, (c) => c.notNull())
    .addColumn('upstream_ms', float8)
    .addColumn('overhead_ms', float8)
    .addColumn('content', 'text')
    .execute();
  // Ids are time-ordered, so (gateway, id) serves time ranges too; one index keeps inserts cheap.
  await db.schema.createIndex('request_log_gateway_id').on('request_log').columns(['gateway', 'id']).execute();

  for (const table of ROLLUPS) {
    await db.schema
      .createTable(table)
      .addColumn('gateway', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('deployment', 'text', (c) => c.notNull())
      .addColumn('bucket_ms', 'bigint', (c) => c.notNull())
      .addColumn('requests', 'bigint', (c) => c.notNull())
      .addColumn('ok', 'bigint', (c) => c.notNull())
      .addColumn('rate_limited', 'bigint', (c) => c.notNull())
      .addColumn('quota_exceeded', 'bigint', (c) => c.notNull())
      .addColumn('rejected', 'bigint', (c) => c.notNull())
      .addColumn('upstream_error', 'bigint', (c) => c.notNull())
      .addColumn('client_aborted', 'bigint', (c) => c.notNull())
      .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
      .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
      .addColumn('total_tokens', 'bigint', (c) => c.notNull())
      .addColumn('latency_ms', float8, (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['gateway', 'bucket_ms', 'project', 'deployment'])
      .execute();
  }

  await db.schema.alterTable('gateways').addColumn('log_content', 'integer', (c) => c.notNull().defaultTo(sql`0`)).execute();
}
