import { sql, type Kysely } from 'kysely';

/**
 * Per-gateway settings: the default project limit (its token values; all null: none) and the
 * browser origins allowed to call the data plane (a JSON array; `[]`: CORS off). One column per
 * statement: SQLite's ALTER TABLE adds one at a time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('gateways').addColumn('default_tokens_per_minute', 'bigint').execute();
  await db.schema.alterTable('gateways').addColumn('default_token_quota', 'bigint').execute();
  await db.schema.alterTable('gateways').addColumn('default_quota_period', 'text').execute();
  await db.schema.alterTable('gateways').addColumn('cors_origins', 'text', (c) => c.notNull().defaultTo(sql`'[]'`)).execute();
}
