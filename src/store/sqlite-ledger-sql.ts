import type BetterSqlite3 from 'better-sqlite3';
import type { LedgerEntry, UsageInterval } from '../usage/ledger.js';
import { INTERVALS } from '../usage/rollups.js';
import { COUNTERS, ROLLUP_TABLE, toRow } from './kysely-usage-store.js';
import type { Database } from './schema.js';

/**
 * The SQL of a ledger write on SQLite and the function that runs it: shared by the store on the
 * event loop and its writer thread (which runs ledgerTransaction's own source).
 */

const ROLLUP_KEYS = ['gateway', 'project', 'deployment', 'bucket_ms', 'currency'] as const;
export const ROLLUP_COLUMNS = [...ROLLUP_KEYS, ...COUNTERS] as const;
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
       on conflict (gateway, bucket_ms, project, deployment, currency) do update set ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
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
