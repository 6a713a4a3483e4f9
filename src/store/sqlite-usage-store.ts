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
  /** (writer, through_id, seen_ms): creates a writer's mark. */
  markInsert: string;
  /** (through_id, seen_ms, writer): moves a writer's mark; changes nothing when it has none. */
  markUpdate: string;
  /** (seen_ms, writer): refreshes a writer's mark; changes nothing when it has none. */
  markTouch: string;
}

/**
 * One piece of a ledger transaction as statement parameters: the mark update first (when it finds
 * no mark, the transaction writes nothing), or the mark touch (when it finds none, it creates it),
 * then request_log rows and rollup increments. A transaction is one or more pieces.
 */
export interface LedgerWrite {
  markUpdate?: unknown[];
  /** [seen_ms, writer, through_id]: refreshes the writer's mark, or creates it at through_id. */
  markTouch?: [number, string, string];
  rows?: unknown[][];
  rollups?: [UsageInterval, unknown[]][];
}

/** What a ledger transaction did: nothing when a mark update found no mark; the mark it created. */
export interface LedgerOutcome {
  written: boolean;
  /** through_id of the mark a touch had to create (the last one, should several). */
  createdMark: string | null;
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
  markInsert: 'insert into ledger_rollup_marks (writer, through_id, seen_ms) values (?, ?, ?)',
  markUpdate: 'update ledger_rollup_marks set through_id = ?, seen_ms = ? where writer = ?',
  markTouch: 'update ledger_rollup_marks set seen_ms = ? where writer = ?',
};

/**
 * Runs the pieces of one transaction with prepared statements. Not written when a mark update
 * found no mark: then nothing was. The writer thread runs the same logic on its own connection
 * (this function's source, so it refers to nothing outside itself).
 */
export function ledgerTransaction(db: BetterSqlite3.Database, sql: LedgerSql): (pieces: readonly LedgerWrite[]) => LedgerOutcome {
  const insert = db.prepare(sql.insert);
  const upsert = {
    minute: db.prepare(sql.upsert.minute),
    hour: db.prepare(sql.upsert.hour),
    day: db.prepare(sql.upsert.day),
  };
  const markInsert = db.prepare(sql.markInsert);
  const markUpdate = db.prepare(sql.markUpdate);
  const markTouch = db.prepare(sql.markTouch);
  return db.transaction((pieces: readonly LedgerWrite[]): LedgerOutcome => {
    let createdMark: string | null = null;
    for (const w of pieces) {
      if (w.markUpdate && markUpdate.run(w.markUpdate).changes === 0) return { written: false, createdMark: null };
      if (w.markTouch && markTouch.run(w.markTouch[0], w.markTouch[1]).changes === 0) {
        markInsert.run(w.markTouch[1], w.markTouch[2], w.markTouch[0]);
        createdMark = w.markTouch[2];
      }
      for (const row of w.rows ?? []) insert.run(row);
      for (const [interval, values] of w.rollups ?? []) upsert[interval].run(values);
    }
    return { written: true, createdMark };
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
  private run: ((pieces: readonly LedgerWrite[]) => LedgerOutcome) | null = null;

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

  override async appendLog(entries: readonly LedgerEntry[], mark: RollupMark): Promise<string | null> {
    let created: string | null = null;
    for (let i = 0; i < entries.length; i += CHUNK) {
      // Every chunk touches the mark, as the PostgreSQL store's one transaction does: should the
      // mark go between two chunks, the later one remakes it above the rows written before.
      const throughId = i === 0 ? mark.throughId : entries[i - 1]!.id;
      const rows = logParams(entries.slice(i, i + CHUNK));
      const outcome = await this.transaction([{ markTouch: [mark.seenMs, mark.writer, throughId], rows }], i > 0);
      created = outcome.createdMark ?? created;
    }
    return created;
  }

  override async addRollups(rollups: Rollups, mark: RollupMark): Promise<boolean> {
    // One transaction, however many rows: the mark moves with all of them or none. Its pieces are
    // made as they are sent, so a flush of thousands of rows never holds the event loop for long.
    function* pieces(): Generator<LedgerWrite> {
      yield { markUpdate: [mark.throughId, mark.seenMs, mark.writer] };
      for (const slice of rollupParamSlices(rollups, ROLLUP_SLICE)) yield { rollups: slice };
    }
    return (await this.transaction(pieces(), false)).written;
  }

  private async transaction(pieces: Iterable<LedgerWrite>, yieldFirst: boolean): Promise<LedgerOutcome> {
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
