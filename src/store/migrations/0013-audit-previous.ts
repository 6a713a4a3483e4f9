import type { Kysely } from 'kysely';

/**
 * The audit log keeps what a change replaced beside what it wrote: `previous` holds the old
 * values (JSON; null when the change created something or older entries never recorded them).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').addColumn('previous', 'text').execute();
}
