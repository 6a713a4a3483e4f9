import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { INTERVAL_MS, type LedgerEntry, type UsageInterval } from '../usage/ledger.js';
import { aggregate, COUNTERS, KyselyUsageStore, ROLLUP_TABLE, toRow } from './kysely-usage-store.js';
import type { Database } from './schema.js';
import type { SqliteWriterThread } from './sqlite-writer-thread.js';

/** Entries per SQLite transaction: bounds how long one write holds the database (and, in-thread, the event loop). */
const CHUNK = 64;

const INTERVALS = ['minute', 'hour', 'day'] as const satisfies readonly UsageInterval[];
const ROLLUP_KEYS = ['gateway', 'project', 'deployment', 'bucket_ms'] as const;
const ROLLUP_COLUMNS = [...ROLLUP_KEYS, ...COUNTERS] as const;
const LOG_COLUMNS = Object.keys(toRow(sampleEntry())) as (keyof Database['request_log'])[];

/** The statements a ledger write runs, in positional form: the same for the event loop and the writer thread. */
export interface LedgerSql {
  insert: string;
  upsert: Record<UsageInterval, string>;
}

/** One chunk of the ledger as statement parameters: request_log rows, then rollup increments. */
export interface LedgerWrite {
  rows: unknown[][];
  rollups: [UsageInterval, unknown[]][];
}

export const LEDGER_SQL: LedgerSql = {
  insert: `insert into request_log (${LOG_COLUMNS.join(', ')}) values (${LOG_COLUMNS.map(() => '?').join(', ')})`,
  upsert: Object.fromEntries(
    INTERVALS.map((interval) => [
      interval,
      `insert into ${ROLLUP_TABLE[interval]} (${ROLLUP_COLUMNS.join(', ')}) values (${ROLLUP_COLUMNS.map(() => '?').join(', ')})
       on conflict (gateway, bucket_ms, project, deployment) do update set ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
    ]),
  ) as Record<UsageInterval, string>,
};

/** A chunk of entries as the parameters of its statements. */
export function ledgerWrite(chunk: readonly LedgerEntry[]): LedgerWrite {
  const rows = chunk.map((e) => Object.values(toRow(e)));
  const rollups: [UsageInterval, unknown[]][] = [];
  for (const interval of INTERVALS) {
    for (const row of aggregate(chunk, INTERVAL_MS[interval])) rollups.push([interval, ROLLUP_COLUMNS.map((c) => row[c])]);
  }
  return { rows, rollups };
}

/**
 * The ledger on SQLite, written by prepared statements in small transactions. With a writer
 * thread (a database file), the writes run there, on their own connection, so the event loop
 * spends nothing on SQLite but preparing the parameters. Without one (in memory, or should the
 * thread fail), better-sqlite3 writes synchronously on the event loop: chunk by chunk, yielding
 * between chunks, each under Kysely's connection lock so it never lands inside an admin
 * transaction in progress.
 */
export class SqliteUsageStore extends KyselyUsageStore {
  private write: ((w: LedgerWrite) => void) | null = null;

  constructor(
    db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly thread: SqliteWriterThread | null = null,
  ) {
    super(db);
  }

  /** Prepared on first use: the tables exist only once migrations have run. */
  private writer(): (w: LedgerWrite) => void {
    if (this.write) return this.write;
    const insert = this.sqlite.prepare(LEDGER_SQL.insert);
    const upsert = {
      minute: this.sqlite.prepare(LEDGER_SQL.upsert.minute),
      hour: this.sqlite.prepare(LEDGER_SQL.upsert.hour),
      day: this.sqlite.prepare(LEDGER_SQL.upsert.day),
    };
    this.write = this.sqlite.transaction((w: LedgerWrite) => {
      for (const row of w.rows) insert.run(row);
      for (const [interval, values] of w.rollups) upsert[interval].run(values);
    });
    return this.write;
  }

  override async append(entries: readonly LedgerEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = ledgerWrite(entries.slice(i, i + CHUNK));
      if (this.thread?.alive) {
        await this.thread.write(chunk);
        continue;
      }
      if (i > 0) await yieldToEventLoop();
      const write = this.writer();
      await this.db.connection().execute(async () => write(chunk));
    }
  }
}

function sampleEntry(): LedgerEntry {
  return {
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
}
