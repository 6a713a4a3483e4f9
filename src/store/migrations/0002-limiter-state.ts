import type { Kysely } from 'kysely';

/** Checkpoints of the embedded limiter's counters, so quotas survive a restart. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('limiter_state')
    .addColumn('limit_id', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
