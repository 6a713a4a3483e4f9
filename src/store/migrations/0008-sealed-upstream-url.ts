import type { Kysely } from 'kysely';

/**
 * An upstream URL that carries credentials (`https://user:pass@host`, `?key=…`) is sealed like an
 * upstream key; `upstream_url` then holds it with the credentials redacted, for display.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('upstream_url_sealed', 'text').execute();
}
