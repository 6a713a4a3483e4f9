import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import type { LimitStateData, MemoryLimiter } from './memory-limiter.js';

/**
 * Saves the embedded limiter's counters to the store every few seconds and at shutdown, and
 * restores them at start, so a restart does not hand every project a fresh quota. Off the
 * request path: only counters that changed are written, in one transaction.
 *
 * After a crash, requests in flight at that moment stay charged at their reservation: the count
 * errs on the side of the ceiling.
 */
export class LimiterCheckpoint {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly limiter: MemoryLimiter,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  async restore(): Promise<void> {
    const rows = await this.store.loadLimiterStates();
    this.limiter.restore(rows.map((r) => ({ id: r.limitId, data: JSON.parse(r.state) as LimitStateData })));
    if (rows.length > 0) this.logger.info({ limits: rows.length }, 'limiter counters restored');
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Writes the counters that changed; flushes never overlap. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const dirty = this.limiter.takeDirty();
      if (dirty.length === 0) return;
      try {
        await this.store.saveLimiterStates(dirty.map((d) => ({ limitId: d.id, state: JSON.stringify(d.data) })));
      } catch (err) {
        this.limiter.markDirty(dirty.map((d) => d.id));
        this.logger.error({ err }, 'limiter checkpoint failed; will retry');
      }
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
