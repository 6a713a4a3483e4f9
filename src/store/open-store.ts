import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, type Driver } from 'kysely';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { KyselyStore } from './kysely-store.js';
import { LEDGER_SQL } from './sqlite-ledger-sql.js';
import { SqliteUsageStore } from './sqlite-usage-store.js';
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
    file = path.join(dataDir, 'tollgate.db');
    restrictAccess(dataDir, file);
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
 * The data directory holds hashed keys, sealed secrets and the request ledger: only the owner may
 * read it (0700, files 0600). SQLite gives its -wal and -shm files the database file's mode.
 */
function restrictAccess(dataDir: string, file: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      // -wal and -shm exist only once SQLite made them: with the database file's mode.
    }
  }
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
