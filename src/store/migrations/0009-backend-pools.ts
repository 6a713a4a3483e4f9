import type { Kysely } from 'kysely';

/**
 * Backend pools (docs/backends.md): a deployment's backends, retry and circuit-breaker rules as
 * JSON (null: its one upstream, as before; a backend's key and credentialed URL are sealed inside);
 * each ledger row names the backend that answered and the upstream calls made.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('backends', 'text').execute();
  await db.schema.alterTable('deployments').addColumn('retry', 'text').execute();
  await db.schema.alterTable('deployments').addColumn('circuit_breaker', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('backend', 'text').execute();
  await db.schema.alterTable('request_log').addColumn('attempts', 'integer').execute();
}
