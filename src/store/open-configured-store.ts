import type { Settings } from '../config/settings.js';
import { openPostgresStore } from './open-postgres-store.js';
import { openSqliteStore } from './open-store.js';
import type { Store } from './store.js';

/** The store the settings name: PostgreSQL with DATABASE_URL (cluster), else SQLite in the data dir. */
export function openConfiguredStore(settings: Settings, onError?: (err: unknown) => void): Store {
  if (settings.databaseUrl) return openPostgresStore(settings.databaseUrl, onError ? { onError } : {});
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
