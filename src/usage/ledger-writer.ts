import type { Logger } from 'pino';
import type { LedgerEntry, UsageStore } from './ledger.js';

export interface LedgerWriterOptions {
  flushIntervalMs: number;
  /** Entries per transaction. */
  batchSize: number;
  /** Bound on entries waiting to be written; beyond it new entries are dropped (and counted). */
  maxQueue: number;
  onDropped?: (count: number) => void;
}

/**
 * Writes the request ledger off the request path: record() only appends to an in-memory queue;
 * a background loop writes batches (each with its rollups) in one transaction. stop() writes
 * everything still queued, so a graceful shutdown loses nothing.
 */
export class LedgerWriter {
  private queue: LedgerEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private droppedTotal = 0;

  constructor(
    private readonly store: UsageStore,
    private readonly logger: Logger,
    private readonly options: LedgerWriterOptions,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  record(entry: LedgerEntry): void {
    if (this.queue.length >= this.options.maxQueue) {
      // The store cannot keep up: shed load rather than grow without bound.
      this.droppedTotal++;
      this.options.onDropped?.(1);
      return;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.options.batchSize && !this.writing) void this.flush();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Writes everything queued now; concurrent calls share one write loop. */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writing;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.options.batchSize ? this.queue : this.queue.slice(0, this.options.batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      try {
        await this.store.append(batch);
      } catch (err) {
        // Keep the batch for the next attempt (ahead of newer entries), within the bound.
        this.queue = batch.concat(this.queue).slice(-this.options.maxQueue);
        this.logger.error({ err, entries: batch.length }, 'request ledger write failed; will retry');
        return;
      }
    }
  }
}
