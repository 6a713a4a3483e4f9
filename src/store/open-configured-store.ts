import type { Settings } from '../config/settings.js';
import type { Store } from './store.js';

/**
 * The store the settings name: PostgreSQL with DATABASE_URL (cluster), else SQLite in the data dir.
 * Only that store's driver is loaded: an embedded gateway never holds pg in memory, nor a node
 * of a cluster better-sqlite3.
 */
export async function openConfiguredStore(settings: Settings, onError?: (err: unknown) => void): Promise<Store> {
  if (settings.databaseUrl) {
    const { openPostgresStore } = await import('./open-postgres-store.js');
    return openPostgresStore(settings.databaseUrl, onError ? { onError } : {});
  }
  const { openSqliteStore } = await import('./open-store.js');
  return openSqliteStore(settings.dataDir, (message) => onError?.(new Error(message)));
}

/** Where the store lives, for messages (without a password). */
export function describeStore(settings: Settings): string {
  if (!settings.databaseUrl) return settings.dataDir;
  try {
    const url = new URL(settings.databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
