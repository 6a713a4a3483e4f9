import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { INTERVAL_MS, type LedgerEntry } from '../usage/ledger.js';
import { aggregate, COUNTERS, KyselyUsageStore, ROLLUP_TABLE, toRow } from './kysely-usage-store.js';
import type { Database } from './schema.js';

/** Entries per synchronous SQLite transaction: bounds how long one write holds the event loop. */
const CHUNK = 250;

/**
 * The ledger on SQLite. better-sqlite3 is synchronous, so a write runs on the event loop: appends
 * use prepared statements (no query building per row) in small transactions, and yield to the
 * event loop between them, so requests keep flowing while a large batch is written. Each chunk
 * holds Kysely's connection lock, so it never runs inside an admin transaction in progress.
 */
export class SqliteUsageStore extends KyselyUsageStore {
  private write: ((chunk: readonly LedgerEntry[]) => void) | null = null;

  constructor(
    db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
  ) {
    super(db);
  }

  /** Prepared on first use: the tables exist only once migrations have run. */
  private writer(): (chunk: readonly LedgerEntry[]) => void {
    if (this.write) return this.write;
    const sqlite = this.sqlite;
    const columns = Object.keys(toRow(SAMPLE));
    const insertEntry = sqlite.prepare(`insert into request_log (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
    const keys = ['gateway', 'project', 'deployment', 'bucket_ms'];
    const upsert = (table: string) =>
      sqlite.prepare(
        `insert into ${table} (${[...keys, ...COUNTERS].join(', ')}) values (${[...keys, ...COUNTERS].map((c) => `@${c}`).join(', ')})
         on conflict (gateway, bucket_ms, project, deployment) do update set ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
      );
    const upsertRollup = { minute: upsert(ROLLUP_TABLE.minute), hour: upsert(ROLLUP_TABLE.hour), day: upsert(ROLLUP_TABLE.day) };
    this.write = sqlite.transaction((chunk: readonly LedgerEntry[]) => {
      // Positional binding: no per-row object for the driver to walk by name.
      for (const e of chunk) insertEntry.run(Object.values(toRow(e)));
      for (const interval of ['minute', 'hour', 'day'] as const) {
        for (const row of aggregate(chunk, INTERVAL_MS[interval])) upsertRollup[interval].run(row);
      }
    });
    return this.write;
  }

  override async append(entries: readonly LedgerEntry[]): Promise<void> {
    const write = this.writer();
    for (let i = 0; i < entries.length; i += CHUNK) {
      if (i > 0) await yieldToEventLoop();
      const chunk = entries.slice(i, i + CHUNK);
      await this.db.connection().execute(async () => write(chunk));
    }
  }
}

const SAMPLE: LedgerEntry = {
  id: '',
  atMs: 0,
  requestId: '',
  gateway: '',
  project: '',
  deployment: null,
  operation: 'chat.completions',
  stream: false,
  status: 0,
  outcome: 'ok',
  errorCode: null,
  upstreamStatus: null,
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0,
  latencyMs: 0,
  upstreamMs: null,
  overheadMs: null,
  content: null,
};
