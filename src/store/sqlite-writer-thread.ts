import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ledgerTransaction, type LedgerOutcome, type LedgerSql, type LedgerWrite } from './sqlite-ledger-sql.js';

/**
 * The thread's code: its own connection to the database; ledger writes as they come (one
 * transaction each, statements prepared on first use, once migrations have made the tables) and
 * WAL checkpoints on a timer. CommonJS source run with `eval`, so it needs no file of its own.
 */
const WORKER_SOURCE = (transaction: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
const ledgerTransaction = ${transaction};
let run = null;
const message = (err) => String((err && err.message) || err);
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: 'WAL checkpoint failed: ' + message(err) });
  }
};
const timer = setInterval(checkpoint, workerData.checkpointMs);
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    checkpoint();
    db.close();
    parentPort.postMessage({ stopped: true });
    return;
  }
  try {
    run ??= ledgerTransaction(db, workerData.sql);
    const outcome = run(m.parts.map((part) => JSON.parse(part)));
    parentPort.postMessage({ id: m.id, outcome });
  } catch (err) {
    // The code (SQLITE_CONSTRAINT_…) tells the ledger writer a refused row from a failing store.
    parentPort.postMessage({ id: m.id, error: message(err), code: err && err.code });
  }
});
`;

/** SQLite's default: the writer checkpoints once the log holds this many pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

interface Pending {
  resolve: (outcome: LedgerOutcome) => void;
  reject: (err: Error) => void;
}

/**
 * A worker thread that does the SQLite store's background writing: the request ledger, and the
 * WAL checkpoints. Both would otherwise run on the event loop — a ledger write costs a few µs per
 * request; a checkpoint copies the log into the database file and syncs it, milliseconds during
 * which every request in flight would wait. In WAL mode a second connection may write and
 * checkpoint beside the first, so the main connection's own checkpoints are switched off.
 * Should the thread fail, `alive` turns false: the store writes on the event loop again and the
 * main connection checkpoints itself.
 */
export class SqliteWriterThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private running = true;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    private readonly main: BetterSqlite3.Database,
    onError: (message: string) => void,
  ) {
    worker.on('message', (m: { id?: number; outcome?: LedgerOutcome; error?: string; code?: string }) => {
      if (m.id === undefined) {
        if (m.error) onError(m.error);
        return;
      }
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0 && !this.stopping) worker.unref();
      if (m.error) p?.reject(Object.assign(new Error(m.error), { code: m.code }));
      else p?.resolve(m.outcome ?? { written: false, createdMark: null });
    });
    const failed = (message: string) => {
      if (!this.running) return;
      this.handBack();
      onError(message);
    };
    worker.on('error', (err) => failed(`SQLite writer thread failed: ${err.message}`));
    worker.on('exit', (code) => failed(`SQLite writer thread exited (${code})`));
    // Idle, the thread must not keep the process alive; with a write in flight it must: a
    // shutdown awaiting the final ledger write would otherwise see the process exit under it
    // (nothing else holds the event loop open by then) and lose that write.
    worker.unref();
  }

  /** Starts the thread on `file`, the main connection's database. */
  static start(
    main: BetterSqlite3.Database,
    file: string,
    sql: LedgerSql,
    options: { checkpointMs: number; onError: (message: string) => void },
  ): SqliteWriterThread {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // The transaction is the store's own function, as source: one implementation for both paths.
    const worker = new Worker(WORKER_SOURCE(ledgerTransaction.toString()), {
      eval: true,
      workerData: { driver, file, sql, checkpointMs: options.checkpointMs },
      // Statements and a timer: a small heap is plenty.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    main.pragma('wal_autocheckpoint = 0');
    return new SqliteWriterThread(worker, main, options.onError);
  }

  get alive(): boolean {
    return this.running;
  }

  /**
   * Runs the pieces as one transaction; resolves once it is committed, with what the transaction
   * answered (not written: a mark update found no mark; the mark a touch created).
   */
  async write(pieces: Iterable<LedgerWrite>): Promise<LedgerOutcome> {
    // As JSON strings: cloning a string is a copy, while the structured clone of many small
    // arrays costs as much as the SQLite insert itself (measured: ~6 µs per entry). One piece
    // per event-loop turn, so a large rollup flush never holds the loop for long; a piece is
    // made (when `pieces` is a generator) only as it is serialised.
    const parts: string[] = [];
    for (const piece of pieces) {
      if (parts.length > 0) await yieldToEventLoop();
      parts.push(JSON.stringify(piece));
    }
    if (!this.running) throw new Error('the SQLite writer thread has stopped');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, parts });
    });
  }

  /** Waits for the writes in progress, checkpoints once more and ends the thread. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (m: { stopped?: boolean }) => m.stopped && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.stopping = true;
    this.worker.ref(); // until it has written everything and stopped
    this.worker.postMessage('stop'); // after every write already posted: messages keep their order
    await stopped;
    this.handBack();
    await this.worker.terminate();
  }

  private handBack(): void {
    this.running = false;
    this.main.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    for (const p of this.pending.values()) p.reject(new Error('the SQLite writer thread has stopped'));
    this.pending.clear();
  }
}
