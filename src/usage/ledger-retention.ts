import type { Logger } from 'pino';
import type { UsageStore } from './ledger.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Hourly rollups outlive raw entries: a year of hourly charts costs little. */
const HOURLY_ROLLUP_DAYS = 400;

/** Prunes ledger entries and minute rollups past the retention, hourly; daily rollups are kept. */
export class LedgerRetention {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly usage: UsageStore,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.prune(), HOUR);
    this.timer.unref();
    void this.prune();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async prune(now = Date.now()): Promise<void> {
    try {
      const deleted = await this.usage.prune(now - this.retentionDays * DAY, now - Math.max(this.retentionDays, HOURLY_ROLLUP_DAYS) * DAY);
      if (deleted > 0) this.logger.info({ deleted, retentionDays: this.retentionDays }, 'request ledger pruned');
    } catch (err) {
      this.logger.error({ err }, 'request ledger pruning failed');
    }
  }
}
