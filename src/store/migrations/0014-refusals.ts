import type { Kysely } from 'kysely';
import { sql } from 'kysely';

const ROLLUPS = ['usage_minute', 'usage_hour', 'usage_day'] as const;

/**
 * Explained refusals (docs/limits.md): each ledger row keeps the tokens it reserved, the completion
 * maximum the gateway set when it capped a request that named none, the limit that refused it
 * (id, scope, kind, value, what it had left) and the message the client got. Refusals that can never
 * fit get their own outcome, so the rollups get its column.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('request_log').addColumn('reserved_tokens', 'bigint').execute();
  await db.schema.alterTable('request_log').addColumn('max_tokens_capped', 'bigint').execute();
  await db.schema.alterTable('request_log').addColumn('limit_id', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('limit_scope', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('limit_kind', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('limit_value', 'bigint').execute();
  await db.schema.alterTable('request_log').addColumn('remaining_tokens', 'bigint').execute();
  await db.schema.alterTable('request_log').addColumn('message', 'text').execute();
  // No index on request_id: one more index on every ledger insert cost ~10% of the CPU per request
  // (bench/compare.ts). A search by request id reads the gateway's rows of the time range asked,
  // through the (gateway, id) index (docs/limits.md).
  for (const table of ROLLUPS) {
    await db.schema.alterTable(table).addColumn('never_fits', 'bigint', (c) => c.notNull().defaultTo(sql`0`)).execute();
  }
}
