import type { LimitRule } from '../limits/limiter.js';
import { periodStart } from '../limits/quota-period.js';
import type { SeedUse } from '../limits/redis-limiter.js';
import { WINDOW_SECONDS } from '../limits/rolling-window.js';
import type { McpStore } from '../store/mcp-store.js';
import type { MemoryLimiter } from '../limits/memory-limiter.js';
import type { McpLimitRuntime } from './mcp-snapshot.js';

/**
 * What the MCP call ledger says each call limit has used now: its calls per second over the last
 * minute (by when each call began) and its calls in the current quota period. How the call
 * counters are rebuilt when Redis lost them (see RedisReseeder's otherStandings), as the token
 * counters are from the token ledger.
 */
export async function mcpLedgerStandings(store: McpStore, limits: readonly McpLimitRuntime[], now: number): Promise<Array<{ rule: LimitRule; use: SeedUse }>> {
  if (limits.length === 0) return [];
  const second = Math.floor(now / 1000);
  // The earliest start any limit counts from: the window's, or the oldest quota period's.
  let from = (second - WINDOW_SECONDS) * 1000;
  for (const l of limits) if (l.callQuota !== null && l.quotaPeriod !== null) from = Math.min(from, periodStart(l.quotaPeriod, now));
  const calls = await store.countedCalls(from);
  return limits.map((rule) => {
    const window = new Map<number, number>();
    let quotaUsed = 0;
    const quotaFrom = rule.callQuota !== null && rule.quotaPeriod !== null ? periodStart(rule.quotaPeriod, now) : null;
    for (const c of calls) {
      if (c.gateway !== rule.gatewayId || c.project !== rule.projectName || c.server !== rule.serverName) continue;
      if (rule.tool !== null && c.tool !== rule.tool) continue;
      const s = Math.floor(c.startMs / 1000);
      if (rule.callsPerMinute !== null && s > second - WINDOW_SECONDS) window.set(s, (window.get(s) ?? 0) + 1);
      if (quotaFrom !== null && c.startMs >= quotaFrom) quotaUsed++;
    }
    return { rule, use: { window, quotaUsed: quotaFrom === null ? null : quotaUsed } };
  });
}

/**
 * After a crash of an embedded gateway: charges each call limit with the calls its ledger holds
 * that ended after the limit's counters were last checkpointed (they are not in them). A call in
 * flight at that checkpoint may be counted twice (over, never under); limits never checkpointed
 * are left as they are. Answers the calls replayed.
 */
export async function replayMcpCalls(limiter: MemoryLimiter, store: McpStore, limits: readonly McpLimitRuntime[]): Promise<number> {
  const saved = await store.checkpointTimes(limits.map((l) => l.id));
  if (saved.size === 0) return 0;
  const calls = await store.countedCalls(Math.min(...saved.values()));
  let replayed = 0;
  for (const rule of limits) {
    const after = saved.get(rule.id);
    if (after === undefined) continue;
    for (const c of calls) {
      if (c.endMs <= after || c.gateway !== rule.gatewayId || c.project !== rule.projectName || c.server !== rule.serverName) continue;
      if (rule.tool !== null && c.tool !== rule.tool) continue;
      limiter.replay([rule], 1, c.startMs);
      replayed++;
    }
  }
  return replayed;
}
