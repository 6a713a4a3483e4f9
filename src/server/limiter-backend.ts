import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { LimiterCheckpoint } from '../limits/checkpoint.js';
import type { LimitRule, Limiter } from '../limits/limiter.js';
import { MemoryLimiter } from '../limits/memory-limiter.js';
import type { RedisReseederOptions } from '../limits/redis-reseeder.js';
import { ResilientLimiter } from '../limits/resilient-limiter.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConfigSnapshot } from '../snapshot/config-snapshot.js';
import type { Store } from '../store/store.js';
import { mcpLedgerStandings, replayMcpCalls } from '../mcp/mcp-standing.js';
import { EMPTY_MCP_INDEX } from '../mcp/mcp-snapshot.js';

export interface LimiterBackend {
  limiter: Limiter;
  /** Stops background work and writes final state; call once no request is in flight. */
  close(): Promise<void>;
  /** The Redis client of a cluster (REDIS_URL), for other state the nodes share (circuit breakers). */
  redis?: Redis;
}

/**
 * The limiter this node uses: Redis (REDIS_URL), shared by every node and guarded by the failure
 * policy; otherwise the in-process limiter, checkpointed to the store so restarts keep the counts.
 */
export interface LimiterBackendContext {
  /** The configuration: the limits of ledger rows replayed at start, the limits to seed Redis with. */
  snapshots: { readonly current: ConfigSnapshot };
  /** The last ledger id handed to the ledger; absent when the ledger is off. */
  ledgerPosition?: () => string | null;
  /** Limits counted outside the request ledger (agent limits), to seed Redis with too. */
  otherStandings?: RedisReseederOptions['otherStandings'];
}

export async function openLimiterBackend(
  settings: Settings,
  store: Store,
  logger: Logger,
  metrics: Metrics,
  context: LimiterBackendContext,
): Promise<LimiterBackend> {
  if (settings.redisUrl) {
    // Loaded only here: an embedded gateway never holds the Redis client in memory.
    const [{ Redis }, { RedisLimiter }, { RedisReseeder }] = await Promise.all([
      import('ioredis'),
      import('../limits/redis-limiter.js'),
      import('../limits/redis-reseeder.js'),
    ]);
    // Fail fast: while Redis is away, errors must come back at once for the failure policy to act,
    // rather than commands queueing and requests hanging.
    const redis = new Redis(settings.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 500,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    redis.on('error', (err: Error) => logger.debug({ err }, 'redis connection error'));
    // Without an offline queue, commands sent before the connection is up fail: wait for it
    // (bounded), so a node does not start by applying the failure policy.
    const ready = await Promise.race([once(redis, 'ready').then(() => true), sleep(2000).then(() => false)]);
    if (!ready) logger.error({ redis: redactUrl(settings.redisUrl) }, 'Redis is not reachable yet: the failure policy applies until it is');
    const primary = new RedisLimiter({
      redis,
      keyPrefix: settings.redisPrefix,
      reservationTtlMs: settings.reservationTtlMs,
      // One request reserves against its deployment's and its project-wide limits in one script:
      // on a Redis Cluster they must share a slot, so a project's limits share one hash tag.
      slotTag: (rule: LimitRule) => rule.tag ?? rule.id,
      // Counts are trusted only once seeded from the ledger for Redis's current epoch.
      epochGuard: true,
      onEpochLost: () => void reseeder.check(),
    });
    const reseeder = new RedisReseeder(primary, store.usage, context.snapshots, logger, {
      checkEveryMs: 1000,
      // MCP call limits are rebuilt from the MCP call ledger (docs/mcp.md), agent limits from theirs (docs/agents.md).
      otherStandings: async (now) => [
        ...(await mcpLedgerStandings(store.mcp, (context.snapshots.current.mcp ?? EMPTY_MCP_INDEX).limits(), now)),
        ...((await context.otherStandings?.(now)) ?? []),
      ],
    });
    metrics.limiterBackendUp.set(ready ? 1 : 0);
    const limiter = new ResilientLimiter(primary, {
      policy: settings.limiterFailurePolicy,
      failOpenShare: settings.failOpenShare,
      reservationTtlMs: settings.reservationTtlMs,
      logger,
      // The limiter logs the transitions itself.
      onStateChange: (state) => metrics.limiterBackendUp.set(state === 'up' ? 1 : 0),
      onFallback: () => metrics.limiterFallback.inc(),
      // Failing open, the local shares start from what Redis last said, not from zero.
      lastKnown: () => primary.lastKnown(),
    });
    if (ready) await reseeder.check();
    reseeder.start();
    return {
      limiter,
      redis,
      async close() {
        reseeder.stop();
        await limiter.close();
        redis.disconnect();
      },
    };
  }

  const memory = new MemoryLimiter({ reservationTtlMs: settings.reservationTtlMs });
  // The in-process limiter is this node's backend, and it is always there: an alert on
  // `tollgate_limiter_backend_up == 0` must not fire on a healthy single node.
  metrics.limiterBackendUp.set(1);
  if (settings.databaseUrl) {
    // Several nodes would overwrite each other's checkpoints, and count apart anyway.
    logger.warn('DATABASE_URL without REDIS_URL: each node counts limits on its own; set REDIS_URL to share one count');
    return { limiter: memory, close: () => memory.close() };
  }
  const checkpoint = new LimiterCheckpoint(memory, store, logger, {
    intervalMs: settings.limiterCheckpointMs,
    ledgerPosition: context.ledgerPosition,
  });
  await checkpoint.restore(context.snapshots.current);
  if (context.ledgerPosition) {
    // MCP call limits: the calls their ledger holds past the checkpoint (docs/mcp.md).
    const replayed = await replayMcpCalls(memory, store.mcp, (context.snapshots.current.mcp ?? EMPTY_MCP_INDEX).limits());
    if (replayed > 0) {
      logger.warn({ calls: replayed }, 'MCP call counters rebuilt: replayed the calls logged after the last checkpoint (the previous run did not stop cleanly)');
      await checkpoint.flush(); // another crash must not replay them twice
    }
  }
  checkpoint.start();
  return {
    limiter: memory,
    async close() {
      await checkpoint.stop();
      await memory.close();
    },
  };
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'REDIS_URL';
  }
}
