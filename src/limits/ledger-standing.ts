import type { QuotaPeriod } from '../domain/model.js';
import type { LimitRuntime } from '../snapshot/config-snapshot.js';
import type { UsageInterval, UsageStore } from '../usage/ledger.js';
import { periodStart } from './quota-period.js';
import type { SeedUse } from './redis-limiter.js';
import { WINDOW_SECONDS } from './rolling-window.js';

/** The rollup fine enough to sum a period from its start (periods start on these boundaries). */
const INTERVAL_OF: Record<QuotaPeriod, UsageInterval> = { hourly: 'minute', daily: 'hour', weekly: 'day', monthly: 'day', yearly: 'day' };

/**
 * What the ledger says each limit has used now: its tokens per second over the last minute (by
 * when each request began, as it was charged) and its tokens in the current quota period. The
 * ledger is the source of truth for usage; this is how the counters are rebuilt from it.
 */
export async function ledgerStandings(usage: UsageStore, rules: readonly LimitRuntime[], now: number): Promise<Map<string, SeedUse>> {
  const out = new Map<string, { window: Map<number, number>; quotaUsed: number | null }>();
  const byProject = new Map<string, LimitRuntime[]>();
  for (const rule of rules) {
    out.set(rule.id, { window: new Map(), quotaUsed: null });
    const key = `${rule.gatewayId}\u0000${rule.projectName}`;
    const list = byProject.get(key);
    if (list) list.push(rule);
    else byProject.set(key, [rule]);
  }

  const second = Math.floor(now / 1000);
  for (const use of await usage.recentUse((second - WINDOW_SECONDS) * 1000)) {
    const s = Math.floor(use.startMs / 1000);
    if (s <= second - WINDOW_SECONDS) continue;
    for (const rule of byProject.get(`${use.gateway}\u0000${use.project}`) ?? []) {
      if (rule.tokensPerMinute === null || (rule.deploymentName !== null && rule.deploymentName !== use.deployment)) continue;
      const window = out.get(rule.id)!.window;
      window.set(s, (window.get(s) ?? 0) + use.tokens);
    }
  }

  // One query per project and period kind, grouped by deployment: its project-wide limits take the
  // sum, its deployment limits their deployment's part.
  for (const projectRules of byProject.values()) {
    const periods = new Set(projectRules.flatMap((r) => (r.tokenQuota !== null && r.quotaPeriod !== null ? [r.quotaPeriod] : [])));
    for (const period of periods) {
      const { gatewayId, projectName } = projectRules[0]!;
      const points = await usage.usage({
        gateway: gatewayId,
        project: projectName,
        fromMs: periodStart(period, now),
        toMs: now + 1,
        interval: INTERVAL_OF[period],
        groupBy: 'deployment',
      });
      // Tokens for token quotas; for budgets, the cost in the budget's currency.
      const byDeployment = new Map<string, { tokens: number; cost: Record<string, number> }>();
      const all = { tokens: 0, cost: {} as Record<string, number> };
      for (const p of points) {
        let d = byDeployment.get(p.group ?? '');
        if (!d) byDeployment.set(p.group ?? '', (d = { tokens: 0, cost: {} }));
        for (const sum of [d, all]) {
          sum.tokens += p.tokens.total;
          for (const [currency, micros] of Object.entries(p.cost)) sum.cost[currency] = (sum.cost[currency] ?? 0) + micros;
        }
      }
      for (const rule of projectRules) {
        if (rule.quotaPeriod !== period || rule.tokenQuota === null) continue;
        const used = rule.deploymentName === null ? all : byDeployment.get(rule.deploymentName);
        out.get(rule.id)!.quotaUsed = rule.budget ? (used?.cost[rule.budget.currency] ?? 0) : (used?.tokens ?? 0);
      }
    }
  }
  return out;
}
