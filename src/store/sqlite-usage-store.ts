import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { LedgerEntry, RollupMark, Rollups, UsageInterval } from '../usage/ledger.js';
import { INTERVALS, rollupsOf } from '../usage/rollups.js';
import { COUNTERS, KyselyUsageStore, ROLLUP_TABLE, toRow, toRowValues } from './kysely-usage-store.js';
import type { Database } from './schema.js';
import type { SqliteWriterThread } from './sqlite-writer-thread.js';

/** Entries per SQLite transaction: bounds how long one write holds the database (and, in-thread, the event loop). */
const CHUNK = 64;
/** Rollup rows serialised per event-loop turn when a large flush is prepared for the writer thread. */
const ROLLUP_SLICE = 512;

const ROLLUP_KEYS = ['gateway', 'project', 'deployment', 'bucket_ms'] as const;
const ROLLUP_COLUMNS = [...ROLLUP_KEYS, ...COUNTERS] as const;
const LOG_COLUMNS = Object.keys(toRow(sampleEntry())) as (keyof Database['request_log'])[];

/** The statements a ledger write runs, in positional form: the same for the event loop and the writer thread. */
export interface LedgerSql {
  insert: string;
  upsert: Record<UsageInterval, string>;
  /** (writer, through_id, seen_ms): creates a writer's mark unless it has one. */
  markInsert: string;
  /** (through_id, seen_ms, writer): moves a writer's mark; changes nothing when it has none. */
  markUpdate: string;
}

/**
 * One piece of a ledger transaction as statement parameters: the mark update first (when it finds
 * no mark, the transaction writes nothing), then request_log rows, rollup increments, mark insert.
 * A transaction is one or more pieces.
 */
export interface LedgerWrite {
  markUpdate?: unknown[];
  rows?: unknown[][];
  rollups?: [UsageInterval, unknown[]][];
  markInsert?: unknown[];
}

export const LEDGER_SQL: LedgerSql = {
  // A batch goes in as several transactions: when one fails, those before it are in. Written
  // again, its rows already there are skipped (ids are unique per entry), not refused.
  insert: `insert into request_log (${LOG_COLUMNS.join(', ')}) values (${LOG_COLUMNS.map(() => '?').join(', ')}) on conflict (id) do nothing`,
  upsert: Object.fromEntries(
    INTERVALS.map((interval) => [
      interval,
      `insert into ${ROLLUP_TABLE[interval]} (${ROLLUP_COLUMNS.join(', ')}) values (${ROLLUP_COLUMNS.map(() => '?').join(', ')})
       on conflict (gateway, bucket_ms, project, deployment) do update set ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
    ]),
  ) as Record<UsageInterval, string>,
  markInsert: 'insert into ledger_rollup_marks (writer, through_id, seen_ms) values (?, ?, ?) on conflict (writer) do nothing',
  markUpdate: 'update ledger_rollup_marks set through_id = ?, seen_ms = ? where writer = ?',
};

/**
 * Runs the pieces of one transaction with prepared statements. False when a mark update found no
 * mark: then nothing was written. The writer thread runs the same logic on its own connection.
 */
export function ledgerTransaction(db: BetterSqlite3.Database, sql: LedgerSql): (pieces: readonly LedgerWrite[]) => boolean {
  const insert = db.prepare(sql.insert);
  const upsert = {
    minute: db.prepare(sql.upsert.minute),
    hour: db.prepare(sql.upsert.hour),
    day: db.prepare(sql.upsert.day),
  };
  const markInsert = db.prepare(sql.markInsert);
  const markUpdate = db.prepare(sql.markUpdate);
  return db.transaction((pieces: readonly LedgerWrite[]) => {
    for (const w of pieces) {
      if (w.markUpdate && markUpdate.run(w.markUpdate).changes === 0) return false;
      for (const row of w.rows ?? []) insert.run(row);
      for (const [interval, values] of w.rollups ?? []) upsert[interval].run(values);
      if (w.markInsert) markInsert.run(w.markInsert);
    }
    return true;
  });
}

/**
 * Rollup rows as upsert parameters, in slices of `size`, in the table order of upsertRollups.
 * Made one slice at a time, as they are consumed: each slice's arrays can die young.
 */
function* rollupParamSlices(rollups: Rollups, size: number): Generator<[UsageInterval, unknown[]][]> {
  let slice: [UsageInterval, unknown[]][] = [];
  for (const interval of INTERVALS) {
    for (const row of rollups[interval]) {
      slice.push([interval, ROLLUP_COLUMNS.map((c) => row[c])]);
      if (slice.length === size) {
        yield slice;
        slice = [];
      }
    }
  }
  if (slice.length > 0) yield slice;
}

const logParams = (chunk: readonly LedgerEntry[]) => chunk.map(toRowValues);

/**
 * The ledger on SQLite, written by prepared statements in small transactions. With a writer
 * thread (a database file), the writes run there, on their own connection, so the event loop
 * spends nothing on SQLite but preparing the parameters. Without one (in memory, or should the
 * thread fail), better-sqlite3 writes synchronously on the event loop: chunk by chunk, yielding
 * between chunks, each under Kysely's connection lock so it never lands inside an admin
 * transaction in progress.
 */
export class SqliteUsageStore extends KyselyUsageStore {
  private run: ((pieces: readonly LedgerWrite[]) => boolean) | null = null;

  constructor(
    db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly thread: SqliteWriterThread | null = null,
  ) {
    super(db);
  }

  override async append(entries: readonly LedgerEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      const [rollups = []] = rollupParamSlices(rollupsOf(chunk), Infinity);
      await this.transaction([{ rows: logParams(chunk), rollups }], i > 0);
    }
  }

  override async appendLog(entries: readonly LedgerEntry[], mark: RollupMark | null): Promise<void> {
    const markInsert = mark ? [mark.writer, mark.throughId, mark.seenMs] : null;
    for (let i = 0; i < entries.length; i += CHUNK) {
      // The mark goes with the first chunk: the rows after it are covered.
      const rows = logParams(entries.slice(i, i + CHUNK));
      await this.transaction([i === 0 && markInsert ? { rows, markInsert } : { rows }], i > 0);
    }
  }

  override async addRollups(rollups: Rollups, mark: RollupMark): Promise<boolean> {
    // One transaction, however many rows: the mark moves with all of them or none. Its pieces are
    // made as they are sent, so a flush of thousands of rows never holds the event loop for long.
    function* pieces(): Generator<LedgerWrite> {
      yield { markUpdate: [mark.throughId, mark.seenMs, mark.writer] };
      for (const slice of rollupParamSlices(rollups, ROLLUP_SLICE)) yield { rollups: slice };
    }
    return this.transaction(pieces(), false);
  }

  private async transaction(pieces: Iterable<LedgerWrite>, yieldFirst: boolean): Promise<boolean> {
    if (this.thread?.alive) return this.thread.write(pieces);
    if (yieldFirst) await yieldToEventLoop();
    const run = (this.run ??= ledgerTransaction(this.sqlite, LEDGER_SQL)); // prepared once migrations have made the tables
    const all = [...pieces];
    return this.db.connection().execute(async () => run(all));
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
