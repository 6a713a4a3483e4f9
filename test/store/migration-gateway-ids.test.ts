import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createTestDatabase } from '../support/postgres.js';

/** A fresh database of each kind, and how to drop it. */
const DATABASES = {
  sqlite: async () => ({ db: new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) }), drop: async () => {} }),
  postgres: async () => {
    const created = await createTestDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: created.url, max: 2 }) }) });
    return { db, drop: created.drop };
  },
};

/**
 * Migration 0014-refusals-gateway-ids: ledger rows and rollups of live gateways move from the
 * gateway's name to its id; rows of a gateway deleted before keep the name they had.
 */
describe.each(Object.keys(DATABASES) as (keyof typeof DATABASES)[])('migration on %s: the ledger files gateways by id', (kind) => {
  it('moves the rows of live gateways to their id, and leaves the rest', { timeout: 30_000 }, async () => {
    const { db, drop } = await DATABASES[kind]();
    try {
      const migrator = new Migrator({ db, provider: migrationProvider });
      expect((await migrator.migrateTo('0014-refusals')).error).toBeUndefined();
      await sql`insert into instances (id, name, created_at) values ('ins_1', 'i1', '2026-01-01T00:00:00Z')`.execute(db);
      await sql`insert into resources (id, name, description, created_at, updated_at) values ('res_1', 'r1', null, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`.execute(db);
      await sql`insert into gateways (id, name, resource_id, instance_id, status, created_at) values ('gw_live', 'live', 'res_1', 'ins_1', 'enabled', '2026-01-01T00:00:00Z')`.execute(db);
      for (const [id, gateway] of [
        ['req_1', 'live'],
        ['req_2', 'gone'],
      ]) {
        await sql`insert into request_log (id, at_ms, request_id, gateway, project, deployment, operation, stream, status, outcome, prompt_tokens, completion_tokens, total_tokens, latency_ms)
                  values (${id}, 1, ${id}, ${gateway}, 'p', 'd', 'chat.completions', 0, 200, 'ok', 1, 1, 2, 1)`.execute(db);
        await sql`insert into usage_day (gateway, project, deployment, bucket_ms, requests, ok, rate_limited, quota_exceeded, rejected, upstream_error, client_aborted, prompt_tokens, completion_tokens, total_tokens, latency_ms)
                  values (${gateway}, 'p', 'd', 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 2, 1)`.execute(db);
      }
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const logged = await sql<{ id: string; gateway: string }>`select id, gateway from request_log order by id`.execute(db);
      expect(logged.rows).toEqual([
        { id: 'req_1', gateway: 'gw_live' },
        { id: 'req_2', gateway: 'gone' },
      ]);
      const rolled = await sql<{ gateway: string }>`select gateway from usage_day order by gateway`.execute(db);
      expect(rolled.rows.map((r) => r.gateway)).toEqual(['gone', 'gw_live']);
    } finally {
      await db.destroy();
      await drop();
    }
  });
});
