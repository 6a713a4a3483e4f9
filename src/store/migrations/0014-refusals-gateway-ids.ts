import type { Kysely } from 'kysely';
import { sql } from 'kysely';

const LEDGER_TABLES = ['request_log', 'usage_minute', 'usage_hour', 'usage_day'] as const;

/**
 * History that stays (docs/usage.md): the ledger and its rollups file a gateway's rows under its
 * id, not its name, so deleting a gateway keeps its history apart and a new gateway of the same
 * name starts empty. Rows of live gateways move to their id here; rows of gateways deleted before
 * this keep the name they had. A deleted gateway is archived: what it was, and when it went.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of LEDGER_TABLES) {
    await sql`update ${sql.table(table)} set gateway = (select g.id from gateways g where g.name = ${sql.ref(`${table}.gateway`)})
               where exists (select 1 from gateways g where g.name = ${sql.ref(`${table}.gateway`)})`.execute(db);
  }
  await db.schema
    .createTable('archived_gateways')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('resource_name', 'text', (c) => c.notNull())
    .addColumn('instance_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'text', (c) => c.notNull())
    .execute();
}
