import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { LedgerEntry, RollupMark, Rollups, UsageInterval } from '../usage/ledger.js';
import { INTERVALS, rollupsOf } from '../usage/rollups.js';
import { KyselyUsageStore, toRowValues } from './kysely-usage-store.js';
import { LEDGER_SQL, ROLLUP_COLUMNS, ledgerTransaction, type LedgerOutcome, type LedgerWrite } from './sqlite-ledger-sql.js';
import type { Database } from './schema.js';
import type { SqliteWriterThread } from './sqlite-writer-thread.js';

/** Entries per SQLite transaction: bounds how long one write holds the database (and, in-thread, the event loop). */
const CHUNK = 64;
/** Rollup rows serialised per event-loop turn when a large flush is prepared for the writer thread. */
const ROLLUP_SLICE = 512;

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
