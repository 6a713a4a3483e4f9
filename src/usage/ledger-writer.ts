import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { idBoundAt } from '../domain/ids.js';
import { LEDGER_ID_PREFIX, type LedgerEntry, type RollupMark, type UsageStore } from './ledger.js';
import { RollupAccumulator } from './rollups.js';
import { writeSplitting } from './split-write.js';

/**
 * Why entries were dropped: `queue_full`, the store could not keep up (or was down) and the queue
 * reached its bound; `rejected`, the store refused the entry itself, alone (see writeSplitting).
 */
export type DropReason = 'queue_full' | 'rejected';

/** How often stop() tries to write what is held, and how long it waits between tries. */
const STOP_ATTEMPTS = 3;
const STOP_RETRY_MS = 200;

export interface LedgerWriterOptions {
  flushIntervalMs: number;
  /** Entries per transaction. */
  batchSize: number;
  /** Bound on entries waiting to be written; beyond it new entries are dropped (and counted). */
  maxQueue: number;
  onDropped?: (count: number, reason: DropReason) => void;
  /** This writer's name in the rollup marks: the node part of the ids its entries carry. */
  writer: string;
  /** How often the summed rollups are written (and the mark refreshed). */
  rollupIntervalMs: number;
  /** A mark not refreshed for this long belongs to a writer that died: its rollups are rebuilt. */
  staleMarkMs: number;
  /** How often to look for such marks (also once at start). */
  recoverEveryMs: number;
  /** At start, rebuild every other writer's rollups at once (a store only this process writes: SQLite). */
  soleWriter?: boolean;
  now?: () => number;
}

/**
 * Writes the request ledger off the request path: record() only appends to an in-memory queue;
 * a background loop writes batches of log rows, and every few seconds the rollups those rows add
 * up to (summed in memory: with many projects, one upsert per project and bucket rather than
 * three per request). A mark in the store says which of this writer's rows the rollups hold, so
 * rollups a crash lost are rebuilt from the log (recoverRollups) — counted once, never twice —
 * and usage queries add the rows above it to the rollups, exact within a log flush. The mark
 * exists only while the writer has rows the rollups lack: an idle writer drops it, so queries
 * never scan the log behind a mark left far in the past. stop() writes everything still held,
 * so a graceful shutdown loses nothing.
 */
export class LedgerWriter {
  private queue: LedgerEntry[] = [];
  private timers: NodeJS.Timeout[] = [];
  private writing: Promise<void> | null = null;
  private droppedTotal = 0;
  private readonly rollups = new RollupAccumulator();
  /** The newest entry of this writer the rollups in the store hold (or older: none is newer). */
  private rolledThrough: string;
  /** Whether this writer's mark is in the store, as far as it knows (another node may take it). */
  private marked = false;
  private readonly now: () => number;

  constructor(
    private readonly store: UsageStore,
    private readonly logger: Logger,
    private readonly options: LedgerWriterOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.rolledThrough = idBoundAt(LEDGER_ID_PREFIX, this.now());
  }

  get pending(): number {
    return this.queue.length;
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  record(entry: LedgerEntry): void {
    if (this.queue.length >= this.options.maxQueue) {
      // The store cannot keep up: shed load rather than grow without bound.
      this.drop(1, 'queue_full');
      return;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.options.batchSize && !this.writing) void this.writeLog();
  }

  start(): void {
    if (this.timers.length > 0) return;
    const every = (ms: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => void task(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    // A tick finding a write in progress leaves the queue to it (or to the next tick): a store that
    // hangs must not pile up a chain of waiting writes.
    every(this.options.flushIntervalMs, () => this.writing ?? this.writeLog());
    every(this.options.rollupIntervalMs, () => this.serial(() => this.drainRollups()));
    every(this.options.recoverEveryMs, () => this.recover(this.now() - this.options.staleMarkMs));
    void this.recover(this.options.soleWriter ? Number.MAX_SAFE_INTEGER : this.now() - this.options.staleMarkMs);
  }

  /** Writes everything held now: log rows, then their rollups. */
  flush(): Promise<void> {
    return this.serial(async () => {
      await this.drainLog();
      await this.drainRollups();
    });
  }

  /**
   * Writes everything still held (a few tries, should the store hiccup) and stops. Throws when
   * some entries could not be written: the caller must not report a clean stop.
   */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (let attempt = 1; attempt <= STOP_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(STOP_RETRY_MS);
      await this.flush();
      if (this.queue.length === 0) break;
    }
    if (this.queue.length > 0) throw new Error(`${this.queue.length} request ledger entries could not be written`);
    if (this.rollups.throughId === null) {
      // Everything this writer wrote is in the rollups: no mark left to recover from.
      await this.store.releaseMark(this.options.writer).catch((err: unknown) => this.logger.warn({ err }, 'could not drop the ledger rollup mark'));
    }
  }

  /** Rebuilds the rollups of writers that died holding some; logs what it did. */
  async recover(staleBeforeMs: number): Promise<number> {
    try {
      const recovered = await this.store.recoverRollups(staleBeforeMs, this.options.writer);
      if (recovered > 0) this.logger.warn({ entries: recovered }, 'rebuilt usage rollups of a ledger writer that stopped without writing them');
      return recovered;
    } catch (err) {
      this.logger.error({ err }, 'could not rebuild lost usage rollups; will retry');
      return 0;
    }
  }

  private writeLog(): Promise<void> {
    return this.serial(() => this.drainLog());
  }

  /** One write loop at a time: log rows and rollups go to the store in the order they were taken. */
  private serial(task: () => Promise<void>): Promise<void> {
    const previous = this.writing ?? Promise.resolve();
    const next = previous.then(task, task);
    const tracked = next.finally(() => {
      if (this.writing === tracked) this.writing = null;
    });
    this.writing = tracked;
    return tracked;
  }

  private mark(throughId: string): RollupMark {
    return { writer: this.options.writer, throughId, seenMs: this.now() };
  }

  private async drainLog(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.options.batchSize ? this.queue : this.queue.slice(0, this.options.batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      // A batch the store refuses is split until the entry at fault stands alone: one bad entry
      // must not hold back its batch, and every batch behind it, for ever.
      const { unwritten, error } = await writeSplitting(batch, (rows) => this.appendLog(rows), (entry, err) => this.reject(entry, err));
      if (unwritten.length > 0) {
        // The store is failing: keep what it did not take for the next attempt, ahead of newer
        // entries, within the bound (the oldest beyond it are dropped, and counted).
        const overflow = unwritten.length + this.queue.length - this.options.maxQueue;
        if (overflow > 0) this.drop(overflow, 'queue_full');
        this.queue = unwritten.concat(this.queue).slice(Math.max(0, overflow));
        this.logger.error({ err: error, entries: unwritten.length }, 'request ledger write failed; will retry');
        return;
      }
    }
  }

  /** Writes log rows; each write refreshes the mark, or makes it, saying these rows are not in the rollups yet. */
  private async appendLog(rows: readonly LedgerEntry[]): Promise<void> {
    const created = await this.store.appendLog(rows, this.mark(this.rollups.throughId ?? this.rolledThrough));
    this.marked = true;
    this.rollups.add(created === null ? rows : this.markCreated(created, rows));
  }

  /**
   * A log write found no mark and made one at `throughId`; answers the rows of `batch` above it,
   * the ones still to sum. Had this writer a mark, another node found it stale (this process
   * stalled) and rebuilt the rollups of its rows up to that id from the log: the sums held for
   * them must not be added again. (A store that writes a batch in several transactions may make
   * the mark inside the batch.)
   */
  private markCreated(throughId: string, batch: readonly LedgerEntry[]): readonly LedgerEntry[] {
    if (this.rollups.throughId !== null) {
      this.logger.warn({ writer: this.options.writer }, 'usage rollups were rebuilt by another node while this one stalled; dropped its own copy');
    }
    this.rollups.clear();
    this.rolledThrough = throughId;
    return batch[0]!.id > throughId ? batch : batch.filter((e) => e.id > throughId);
  }

  /** An entry the store refuses on its own: never retried, never silently lost. */
  private reject(entry: LedgerEntry, err: unknown): void {
    this.drop(1, 'rejected');
    const { content: _content, ...row } = entry; // content stays out of the server log
    this.logger.error({ err, reqId: entry.requestId, entry: row }, 'request ledger entry refused by the store; dropped');
  }

  private drop(count: number, reason: DropReason): void {
    this.droppedTotal += count;
    this.options.onDropped?.(count, reason);
  }

  /** Writes the summed rollups and moves the mark; with nothing summed, drops the mark. */
  private async drainRollups(): Promise<void> {
    const throughId = this.rollups.throughId;
    if (throughId === null) return this.dropIdleMark();
    const taken = this.rollups.take();
    const mark = this.mark(throughId);
    let written: boolean;
    try {
      written = await this.store.addRollups(taken, mark);
    } catch (err) {
      this.rollups.restore(taken, throughId);
      this.logger.error({ err }, 'usage rollups write failed; will retry');
      return;
    }
    this.rolledThrough = throughId;
    if (written) return;
    // No mark: another node found it stale (this process stalled) and rebuilt these rollups from
    // the log, every row written so far: adding them again would count them twice.
    this.marked = false;
    this.logger.warn({ writer: this.options.writer }, 'usage rollups were rebuilt by another node while this one stalled; dropped its own copy');
  }

  /**
   * Nothing summed since the last rollup write: every row of this writer is in the rollups. Its
   * mark would only age (queries scan the log above it); the next log write makes a new one.
   */
  private async dropIdleMark(): Promise<void> {
    if (!this.marked) return;
    try {
      await this.store.releaseMark(this.options.writer);
      this.marked = false;
    } catch (err) {
      this.logger.warn({ err }, 'could not drop the ledger rollup mark; will retry');
    }
  }
}
