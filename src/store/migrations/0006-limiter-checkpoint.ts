import type { Kysely } from 'kysely';

/**
 * Where the limiter checkpoint stands in the request ledger: the counters in limiter_state hold
 * the usage of every ledger row up to `ledger_through` (a ledger id) and none after it. After a
 * crash the counters are rebuilt as that checkpoint plus the rows after it. One row (id 1).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('limiter_checkpoint')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('ledger_through', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
