import type { Kysely } from 'kysely';

/**
 * Rollups are written some seconds after the request log rows they sum. Each ledger writer keeps
 * a mark here, in the same transactions as its log rows and rollups: its rows with ids above
 * `through_id` are not in the rollups yet. A writer that died without flushing leaves a stale mark,
 * from which its missing rollups are rebuilt out of the log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ledger_rollup_marks')
    .addColumn('writer', 'text', (c) => c.primaryKey())
    .addColumn('through_id', 'text', (c) => c.notNull())
    .addColumn('seen_ms', 'bigint', (c) => c.notNull())
    .execute();
}
