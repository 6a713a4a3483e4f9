import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KyselyStore } from './kysely-store.js';
import { SqliteUsageStore } from './sqlite-usage-store.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Opens the embedded SQLite store at `<dataDir>/tollgate.db` (or in memory with ':memory:'). */
export function openSqliteStore(dataDir: string | ':memory:'): Store {
  let file = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    file = path.join(dataDir, 'tollgate.db');
  }
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return new KyselyStore(db, 'sqlite', () => db.destroy(), new SqliteUsageStore(db, sqlite));
}
