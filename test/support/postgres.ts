import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server tests create their databases on: a superuser connection with trust auth.
 * TOLLGATE_TEST_POSTGRES_URL overrides the default.
 */
export const ADMIN_URL = process.env.TOLLGATE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL tests need a server at ${url} (set TOLLGATE_TEST_POSTGRES_URL): ${String(err)}`, { cause: err });
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one statement on `url` and answers its rows. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  return withAdmin(url, async (client) => (await client.query<R>(text, values)).rows);
}

/** A fresh, uniquely named database; drop() removes it, ending any session still connected. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `tollgate_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(ADMIN_URL, (client) => client.query(`create database ${client.escapeIdentifier(name)}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => withAdmin(ADMIN_URL, (client) => client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`)).then(() => {}),
  };
}

/** Empties every Tollgate table of a migrated database and resets the config version to 1. */
export async function resetDatabase(url: string): Promise<void> {
  await withAdmin(url, async (client) => {
    const { rows } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE'
          and table_name not like 'kysely\\_%' and table_name <> 'config_version'`,
    );
    if (rows.length > 0) await client.query(`truncate table ${rows.map((r) => client.escapeIdentifier(r.table_name)).join(', ')} cascade`);
    await client.query('update config_version set version = 1 where id = 1');
  });
}
