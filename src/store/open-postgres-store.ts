import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { RollupRow, Rollups } from '../usage/ledger.js';
import { KyselyStore } from './kysely-store.js';
import { KyselyUsageStore } from './kysely-usage-store.js';
import { PgConfigNotifier, type PgConfigNotifierOptions } from './pg-config-notifier.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). The config listener uses one more, outside it. */
  poolSize?: number;
  /**
   * Errors that no query sees: an idle pooled connection that died (the pool drops it and opens
   * another when needed) and the config listener's (it reconnects). Ignored by default.
   */
  onError?: (err: unknown) => void;
  /** Reconnect backoff of the config listener. */
  listener?: Pick<PgConfigNotifierOptions, 'minBackoffMs' | 'maxBackoffMs'>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for this store's connections only (pg's global `pg.types` stays untouched for other
 * users of pg in the process). bigint columns (config version, limits, request_log and rollup
 * counts, epoch-millisecond times) and numeric (what sum() over bigint answers) come back as
 * numbers, as the schema types say and as on SQLite. Every value stored is a count, a token total
 * or a millisecond time: far below 2^53, so a double holds it exactly.
 */
function storeTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', Number);
  types.setTypeParser(NUMERIC_OID, 'text', Number);
  return types;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The ledger on PostgreSQL. Every node adds to the same rollup rows, and a multi-row upsert
 * locks its rows in the order given, so two nodes writing the same keys in different orders can
 * deadlock (PostgreSQL then aborts one batch after deadlock_timeout). Sorting rollup rows by key
 * gives every transaction one global lock order: (table: minute, hour, day), then (gateway,
 * project, deployment, bucket).
 */
class PostgresUsageStore extends KyselyUsageStore {
  protected override upsertRollups(trx: Transaction<Database>, rollups: Rollups): Promise<void> {
    const sorted = (rows: RollupRow[]) =>
      [...rows].sort(
        (a, b) => compare(a.gateway, b.gateway) || compare(a.project, b.project) || compare(a.deployment, b.deployment) || a.bucket_ms - b.bucket_ms || compare(a.currency, b.currency),
      );
    return super.upsertRollups(trx, { minute: sorted(rollups.minute), hour: sorted(rollups.hour), day: sorted(rollups.day) });
  }
}

/** The store on PostgreSQL once it listens for config changes; still a plain Store to callers. */
export type PostgresStore = Store & Required<Pick<Store, 'watchConfig'>>;

class PostgresKyselyStore extends KyselyStore implements PostgresStore {
  constructor(
    db: Kysely<Database>,
    private readonly notifier: PgConfigNotifier,
  ) {
    super(
      db,
      'postgres',
      async () => {
        await notifier.close();
        await db.destroy();
      },
      new PostgresUsageStore(db),
    );
  }

  watchConfig(onChange: (version: number) => void): Promise<() => Promise<void>> {
    return this.notifier.watch(onChange);
  }
}

/**
 * Opens the PostgreSQL store (cluster mode) at `databaseUrl`, e.g. postgres://user:pw@host/db.
 * Nothing connects until the first query; call migrate() before use, as with SQLite.
 *
 * migrate() is safe when several nodes start at once against the same database. Kysely's Migrator
 * (0.28: migration/migrator.js #runMigrations, dialect/postgres/postgres-adapter.js) runs on one
 * connection holding PostgresAdapter.acquireMigrationLock, a session-level `pg_advisory_lock` on
 * a fixed key, and reads which migrations are pending only once it holds the lock, then applies
 * them in one transaction (PostgreSQL has transactional DDL). Its own bookkeeping tables are
 * created before the lock with `if not exists`, and it tolerates losing that race (it re-checks
 * that the table exists and ignores the error). So one node migrates; the others wait for the
 * lock, then find nothing pending. test/store/store-postgres.test.ts starts four at once.
 */
export function openPostgresStore(databaseUrl: string, options: PostgresStoreOptions = {}): PostgresStore {
  const onError = options.onError ?? (() => {});
  const types = storeTypes();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize ?? 10, types });
  // An idle client that errors (server restart, killed backend) is emitted here; pg then discards
  // it. Without a listener that 'error' event would crash the process.
  pool.on('error', onError);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const notifier = new PgConfigNotifier(
    { connectionString: databaseUrl, types, keepAlive: true, application_name: 'tollgate-config-listener' },
    { ...options.listener, onError },
  );
  return new PostgresKyselyStore(db, notifier);
}
