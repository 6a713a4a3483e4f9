import pg from 'pg';
import { PG_CONFIG_CHANNEL } from './kysely-store.js';

export interface PgConfigNotifierOptions {
  /** First reconnect delay after the listening connection drops; doubles per failed attempt. */
  minBackoffMs?: number;
  /** Upper bound of the reconnect delay. */
  maxBackoffMs?: number;
  /** Errors of the listening connection (it reconnects by itself) and of watchers. */
  onError?: (err: unknown) => void;
}

interface Watcher {
  onChange: (version: number) => void;
}

/**
 * Hears config changes on PostgreSQL: one dedicated connection (outside the pool, which would
 * recycle it) runs `LISTEN tollgate_config`; KyselyStore.bumpConfigVersion issues the NOTIFY in
 * the bumping transaction, so watchers hear of a version only once it is committed.
 *
 * If the connection drops it reconnects with bounded exponential backoff. Notifications sent
 * while it was down are lost, so after each reconnect the watchers get the current version (a
 * version they may already have: callers compare with theirs, as with the periodic poll).
 */
export class PgConfigNotifier {
  private readonly watchers = new Set<Watcher>();
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client | null> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private closed = false;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onError: (err: unknown) => void;

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    options: PgConfigNotifierOptions = {},
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(this.minBackoffMs, options.maxBackoffMs ?? 5_000);
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Calls onChange with each committed config version. Resolves once the connection listens (a
   * bump committed after that is heard), or, if the connection is down and being re-established,
   * at once. Rejects if the first connection fails. Answers the function that stops watching.
   */
  async watch(onChange: (version: number) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('config notifier is closed');
    const watcher: Watcher = { onChange };
    this.watchers.add(watcher);
    if (this.connecting) {
      await this.connecting.catch(() => {}); // a failed reconnect is retried in the background
    } else if (!this.client && !this.retryTimer) {
      this.connecting = this.connect();
      try {
        await this.connecting;
      } catch (err) {
        this.connecting = null;
        this.watchers.delete(watcher);
        if (this.watchers.size > 0) this.scheduleReconnect(); // others joined this attempt
        throw err;
      }
      this.connecting = null;
    }
    return async () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) await this.disconnect();
    };
  }

  /** Stops every watcher and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.watchers.clear();
    await this.disconnect();
  }

  /** Opens a listening connection; answers it, or null if nobody wants it any more. */
  private async connect(): Promise<pg.Client | null> {
    const client = new pg.Client(this.clientConfig);
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel === PG_CONFIG_CHANNEL && msg.payload !== undefined) this.emit(Number(msg.payload));
    });
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(PG_CONFIG_CHANNEL)}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed || this.watchers.size === 0) {
      await client.end().catch(() => {});
      return null;
    }
    this.client = client;
    return client;
  }

  private lost(client: pg.Client, err?: unknown): void {
    if (client !== this.client) return; // a connection we already let go of
    this.client = null;
    if (err !== undefined) this.onError(err);
    void client.end().catch(() => {});
    if (!this.closed && this.watchers.size > 0) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.connecting) return;
    const delay = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.reconnect();
    }, delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.closed || this.watchers.size === 0 || this.client) return;
    this.connecting = this.connect();
    let client: pg.Client | null;
    try {
      client = await this.connecting;
    } catch (err) {
      this.connecting = null;
      this.onError(err);
      if (!this.closed && this.watchers.size > 0) this.scheduleReconnect();
      return;
    }
    this.connecting = null;
    this.attempt = 0;
    if (!client) return;
    // Catch up on what was committed while nobody listened.
    try {
      const result = await client.query<{ version: unknown }>('select version from config_version where id = 1');
      const row = result.rows[0];
      if (row) this.emit(Number(row.version));
    } catch (err) {
      this.onError(err); // the connection's own handlers deal with a drop
    }
  }

  private emit(version: number): void {
    if (!Number.isSafeInteger(version)) return;
    for (const watcher of [...this.watchers]) {
      try {
        watcher.onChange(version);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private async disconnect(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    if (this.connecting) await this.connecting.catch(() => {}); // connect() ends it: no watchers
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => {});
  }
}
