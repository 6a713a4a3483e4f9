import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, type Driver } from 'kysely';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { KyselyStore } from './kysely-store.js';
import { LEDGER_SQL, SqliteUsageStore } from './sqlite-usage-store.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';

/** How often the writer thread copies the write-ahead log back into the database. */
const CHECKPOINT_INTERVAL_MS = 500;

/**
 * Opens the embedded SQLite store at `<dataDir>/tollgate.db` (or in memory with ':memory:').
 * `onError` hears about background trouble (the writer thread), which never fails a request.
 */
export function openSqliteStore(dataDir: string | ':memory:', onError: (message: string) => void = () => {}): Store {
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
  // An in-memory database has one connection only: it writes on the event loop.
  const thread = file === ':memory:' ? null : SqliteWriterThread.start(sqlite, file, LEDGER_SQL, { checkpointMs: CHECKPOINT_INTERVAL_MS, onError });
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  const close = async () => {
    await thread?.stop();
    await db.destroy();
  };
  return new KyselyStore(db, 'sqlite', close, new SqliteUsageStore(db, sqlite, thread));
}

/**
 * Transactions begin IMMEDIATE, taking the write lock up front (waiting on busy_timeout if the
 * writer thread holds it): a deferred transaction that has read before another connection commits
 * cannot upgrade to writing, and SQLite fails it with SQLITE_BUSY at once instead of waiting.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}
