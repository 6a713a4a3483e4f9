import type { Logger } from 'pino';
import type { ConfigSnapshot, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { Store } from '../store/store.js';
import type { LimitStateData, MemoryLimiter } from './memory-limiter.js';

export interface LimiterCheckpointOptions {
  intervalMs: number;
  /**
   * The id of the last request handed to the ledger, or null (none yet; or no ledger). Read in
   * the same turn of the event loop as the counters: a request settles and is handed to the
   * ledger in one turn, so every request up to that id is in the counters and none after it.
   * Without it (the ledger is off), checkpoints keep reservations in flight at their full size
   * and a crash is not replayed.
   */
  ledgerPosition?: () => string | null;
}

/** Ledger rows read per query when replaying. */
const REPLAY_PAGE = 2000;

/**
 * Saves the embedded limiter's counters to the store every few seconds and at shutdown, and
 * restores them at start, so a restart does not hand every project a fresh quota. Off the
 * request path: only counters that changed are written, in one transaction.
 *
 * With the ledger on, a checkpoint holds settled usage only, with the id of the last ledger row
 * it includes; at start, the ledger rows written after it are replayed into the counters. So a
 * crash loses only what the ledger had not written yet (its flush interval), not the time since
 * the last checkpoint.
 */
export class LimiterCheckpoint {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** The newest ledger row the counters include: saved with them. */
  private through: string | null = null;
  private savedThrough: string | null = null;
  /** Whether the last flush left something unwritten. */
  private failed = false;

  constructor(
    private readonly limiter: MemoryLimiter,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly options: LimiterCheckpointOptions,
  ) {}

  /** Loads the last checkpoint and replays the ledger rows written after it (against the snapshot's limits). */
  async restore(snapshot: ConfigSnapshot): Promise<void> {
    const { rows, ledgerThrough } = await this.store.loadLimiterStates();
    const withLedger = this.options.ledgerPosition !== undefined;
    this.limiter.restore(rows.map((r) => ({ id: r.limitId, data: JSON.parse(r.state) as LimitStateData })));
    this.through = this.savedThrough = ledgerThrough;
    if (rows.length > 0) this.logger.info({ limits: rows.length }, 'limiter counters restored');
    // Without a position (a first start, or a checkpoint written before positions existed) there
    // is nothing to replay from: the counters are what they are.
    if (!withLedger || ledgerThrough === null) return;
    const replayed = await this.replay(snapshot, ledgerThrough);
    if (replayed.entries > 0) {
      this.logger.warn(
        { entries: replayed.entries, tokens: replayed.tokens },
        'limiter counters rebuilt: replayed the ledger rows written after the last checkpoint (the previous run did not stop cleanly)',
      );
      // Saved at once: another crash before the first timed checkpoint must not replay them twice.
      await this.flush();
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Writes the counters that changed and where they stand in the ledger; flushes never overlap. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const position = this.options.ledgerPosition;
      // Read together, in one turn: see LedgerCheckpointOptions.ledgerPosition.
      const dirty = this.limiter.takeDirty({ withoutHolds: position !== undefined });
      const current = position?.() ?? null;
      if (current !== null && (this.through === null || current > this.through)) this.through = current;
      const through = this.through;
      if (dirty.length === 0 && through === this.savedThrough) {
        this.failed = false;
        return;
      }
      try {
        await this.store.saveLimiterStates(
          dirty.map((d) => ({ limitId: d.id, state: JSON.stringify(d.data) })),
          through,
        );
        this.savedThrough = through;
        this.failed = false;
      } catch (err) {
        this.limiter.markDirty(dirty.map((d) => d.id));
        this.failed = true;
        this.logger.error({ err }, 'limiter checkpoint failed; will retry');
      }
    });
    return this.writing;
  }

  /** Writes the final counters; throws when they could not be written. Call once no request is in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    if (this.failed) await this.flush(); // one more try
    if (this.failed) throw new Error('the final limiter checkpoint could not be written');
  }

  private async replay(snapshot: ConfigSnapshot, after: string): Promise<{ entries: number; tokens: number }> {
    const projects = projectsByName(snapshot);
    let entries = 0;
    let tokens = 0;
    for (let cursor = after; ; ) {
      const page = await this.store.usage.entriesAfter(cursor, REPLAY_PAGE);
      for (const e of page) {
        entries++;
        const project = projects.get(`${e.gateway}\u0000${e.project}`);
        const micros = e.costMicros ?? 0;
        if (!project || e.deployment === null || (e.totalTokens <= 0 && micros <= 0)) continue;
        // Charged as the request was: from when it began (its cost into the budgets).
        this.limiter.replay(project.limitsFor(e.deployment), e.totalTokens, e.atMs - e.latencyMs, micros);
        tokens += e.totalTokens;
      }
      if (page.length > 0) this.through = cursor = page[page.length - 1]!.id;
      if (page.length < REPLAY_PAGE) break;
    }
    return { entries, tokens };
  }
}

/** The snapshot's projects by gateway id and project name: how ledger rows name them. */
function projectsByName(snapshot: ConfigSnapshot): Map<string, ProjectRuntime> {
  const byName = new Map<string, ProjectRuntime>();
  for (const project of snapshot.projectsByKeyHash.values()) {
    if (project.gateway) byName.set(`${project.gateway.id}\u0000${project.name}`, project);
  }
  return byName;
}
