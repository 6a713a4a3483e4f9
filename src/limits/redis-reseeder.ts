import type { Logger } from 'pino';
import type { ConfigSnapshot, LimitRuntime } from '../snapshot/config-snapshot.js';
import type { UsageStore } from '../usage/ledger.js';
import { ledgerStandings } from './ledger-standing.js';
import type { LimitRule } from './limiter.js';
import type { RedisLimiter, SeedUse } from './redis-limiter.js';

export interface RedisReseederOptions {
  /** How often Redis's epoch is checked (it is also checked when a reserve finds it gone). */
  checkEveryMs: number;
  now?: () => number;
  /**
   * Limits kept outside the token ledger (MCP call limits, agent request limits) and what their
   * own ledgers say they used: seeded with the token limits, before the node admits again.
   */
  otherStandings?: (now: number) => Promise<ReadonlyArray<{ rule: LimitRule; use: SeedUse }>>;
}

/**
 * Keeps the Redis counts trustworthy across Redis restarts, failovers and flushes. Redis holds an
 * epoch key; a Redis that lost its data has none (or, after another node noticed, a new one).
 * Whenever the epoch is not the one this node seeded for — at start, when a reserve finds it gone,
 * or at the periodic check — the node stops admitting through Redis (its limiter refuses, so the
 * failure policy applies), raises the counters of every limit it serves to what the ledger says
 * they used (windows and quotas), and only then admits again. Seeding never lowers a counter, so
 * nodes seeding at once, or over counts that survived, count nothing twice.
 */
export class RedisReseeder {
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Whether a seed has succeeded before: the first one at start is routine, a later one is news. */
  private seededOnce = false;
  private readonly now: () => number;

  constructor(
    private readonly limiter: RedisLimiter,
    private readonly usage: UsageStore,
    private readonly snapshots: { readonly current: ConfigSnapshot },
    private readonly logger: Logger,
    private readonly options: RedisReseederOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.options.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Seeds the counts if Redis's epoch is not the one they were seeded for; one check at a time. */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<void> {
    let epoch: string;
    try {
      epoch = await this.limiter.currentEpoch();
    } catch (err) {
      this.logger.debug({ err }, 'limiter: cannot read the epoch of the limit store');
      return;
    }
    const previous = this.limiter.seededEpoch;
    if (epoch === previous) return;
    this.limiter.setEpoch(null);
    const started = performance.now();
    try {
      const rules = limitsOf(this.snapshots.current);
      const standings = await ledgerStandings(this.usage, rules, this.now());
      for (const rule of rules) await this.limiter.seed(rule, standings.get(rule.id)!);
      for (const { rule, use } of (await this.options.otherStandings?.(this.now())) ?? []) await this.limiter.seed(rule, use);
      this.limiter.setEpoch(epoch);
      const took = Math.round(performance.now() - started);
      if (previous === null && !this.seededOnce) this.logger.info({ limits: rules.length, ms: took }, 'limiter: counts in Redis checked against the ledger');
      else this.logger.warn({ limits: rules.length, ms: took }, 'limiter: Redis had lost its counts; re-seeded them from the ledger');
      this.seededOnce = true;
    } catch (err) {
      this.logger.error({ err }, 'limiter: could not seed the counts from the ledger; will retry');
    }
  }
}

/** Every limit of the snapshot, once. */
function limitsOf(snapshot: ConfigSnapshot): LimitRuntime[] {
  const byId = new Map<string, LimitRuntime>();
  for (const project of snapshot.projectsByKeyHash.values()) {
    for (const deployment of project.deployments.keys()) for (const limit of project.limitsFor(deployment)) byId.set(limit.id, limit);
  }
  return [...byId.values()];
}
