import type { QuotaPeriod } from '../domain/model.js';
import type { LimitRule } from '../limits/limiter.js';
import { periodStart } from '../limits/quota-period.js';
import type { SeedUse } from '../limits/redis-limiter.js';
import { WINDOW_SECONDS } from '../limits/rolling-window.js';
import type { AgentStore } from '../store/agent-store.js';
import { agentLimitRules, type AgentRuntime } from './agent-runtime.js';

const keyOf = (gateway: string, agent: string, project: string) => `${gateway}\u0000${agent}\u0000${project}`;

/**
 * What the agent ledger says each agent limit has used now — its requests per second over the last
 * minute (by when each began) and its requests in the current quota period — for re-seeding a
 * Redis that lost its counts, as token limits are re-seeded from the request ledger.
 */
export async function agentLimitSeeds(
  store: AgentStore,
  agents: ReadonlyMap<string, ReadonlyMap<string, AgentRuntime>> | undefined,
  now: number,
): Promise<Array<{ rule: LimitRule; use: SeedUse }>> {
  const rules = agentLimitRules(agents);
  if (rules.length === 0) return [];

  const windows = new Map<string, Map<number, number>>();
  const second = Math.floor(now / 1000);
  if (rules.some((r) => r.tokensPerMinute !== null)) {
    for (const use of await store.countedRecent((second - WINDOW_SECONDS) * 1000)) {
      const s = Math.floor(use.atMs / 1000);
      if (s <= second - WINDOW_SECONDS) continue;
      const key = keyOf(use.gateway, use.agent, use.project);
      let window = windows.get(key);
      if (!window) windows.set(key, (window = new Map()));
      window.set(s, (window.get(s) ?? 0) + 1);
    }
  }

  const used = new Map<QuotaPeriod, Map<string, number>>();
  for (const period of new Set(rules.flatMap((r) => (r.tokenQuota !== null && r.quotaPeriod !== null ? [r.quotaPeriod] : [])))) {
    const counts = new Map<string, number>();
    for (const row of await store.countedSince(periodStart(period, now))) counts.set(keyOf(row.gateway, row.agent, row.project), row.count);
    used.set(period, counts);
  }

  return rules.map((rule) => {
    const key = keyOf(rule.gatewayId, rule.agentName, rule.projectName);
    const quotaUsed = rule.tokenQuota !== null && rule.quotaPeriod !== null ? (used.get(rule.quotaPeriod)?.get(key) ?? 0) : null;
    return { rule, use: { window: windows.get(key) ?? new Map(), quotaUsed } };
  });
}
