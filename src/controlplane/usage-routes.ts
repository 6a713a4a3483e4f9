import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { OUTCOMES, type LedgerEntry, type Outcome as LedgerOutcome, type UsagePoint } from '../usage/ledger.js';
import type { UsageStore } from '../usage/ledger.js';
import type { AdminService } from './admin-service.js';
import type { CostView, LimitStatusView, LogPage, LogView, Outcome, RequestCounts, UsageGroupBy, UsagePointView, UsageReport, UsageSeriesView } from './api-types.js';
import { money } from './views.js';
import { requires } from './route-permissions.js';
import { parse } from './schemas.js';

// The API's outcomes are the ledger's, both ways: a new outcome fails to compile until declared.
const sameOutcomes: [LedgerOutcome] extends [Outcome] ? ([Outcome] extends [LedgerOutcome] ? true : false) : false = true;
void sameOutcomes;

const DAY = 86_400_000;
/** The last millisecond of year 9999: times beyond it are not dates anyone means. */
const MAX_TIME_MS = 253_402_300_799_999;
const time = z.union([
  z.coerce.number().int().nonnegative().max(MAX_TIME_MS, 'must be a time before the year 10000 (ms since epoch or ISO 8601)'),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const usageQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  interval: z.enum(['minute', 'hour', 'day']).optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  groupBy: z.enum(['project', 'deployment']).optional(),
});

const logsQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  outcome: z.enum(OUTCOMES).optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export interface UsageRouteDeps {
  service: AdminService;
  usage: UsageStore;
  limiter: Limiter;
}

/** Usage time series, request logs and limit standing: read from rollups, the ledger and the limiter. */
export function registerUsageRoutes(app: FastifyInstance, { service, usage, limiter }: UsageRouteDeps): void {
  app.get<{ Params: { g: string } }>('/gateways/:g/usage', { config: requires('read') }, async (r): Promise<UsageReport> => {
    const gateway = await service.gateways.get(r.params.g);
    const q = parse(usageQuery, r.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? Math.max(0, to - DAY);
    if (from > to) throw new TollgateError('validation_failed', "from: must not be after 'to'", { param: 'from' });
    // Without an interval, the finest one that keeps the series short.
    const interval = q.interval ?? (to - from <= 6 * 3_600_000 ? 'minute' : to - from <= 14 * DAY ? 'hour' : 'day');
    const points = await usage.usage({
      gateway: gateway.name,
      fromMs: from,
      toMs: to,
      interval,
      ...(q.project ? { project: q.project } : {}),
      ...(q.deployment ? { deployment: q.deployment } : {}),
      ...(q.groupBy ? { groupBy: q.groupBy } : {}),
    });
    return {
      gateway: gateway.name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      interval,
      groupBy: q.groupBy ?? null,
      series: toSeries(points, q.groupBy ?? null),
      totals: sum(points),
    };
  });

  app.get<{ Params: { g: string } }>('/gateways/:g/logs', { config: requires('read') }, async (r): Promise<LogPage> => {
    const gateway = await service.gateways.get(r.params.g);
    const q = parse(logsQuery, r.query);
    // One more than asked tells whether a next page exists.
    const rows = await usage.logs({
      gateway: gateway.name,
      limit: q.limit + 1,
      ...(q.from !== undefined ? { fromMs: q.from } : {}),
      ...(q.to !== undefined ? { toMs: q.to } : {}),
      ...(q.project ? { project: q.project } : {}),
      ...(q.deployment ? { deployment: q.deployment } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(q.cursor ? { before: q.cursor } : {}),
    });
    const items = rows.slice(0, q.limit).map(logView);
    return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
  });

  app.get<{ Params: { g: string; id: string } }>('/gateways/:g/limits/:id/status', { config: requires('read') }, async (r): Promise<LimitStatusView> => {
    const limit = await service.limits.rule(r.params.g, r.params.id);
    const status = await limiter.peek(limit.rule);
    let budget: LimitStatusView['budget'] = null;
    if (limit.budget && limit.budgetRule) {
      const spent = (await limiter.peek(limit.budgetRule)).quota;
      if (spent) {
        budget = {
          currency: limit.budget.currency,
          limit: money(limit.budget.micros),
          spent: money(spent.used),
          remaining: money(spent.remaining),
          period: limit.budget.period,
          periodStart: iso(spent.periodStart),
          resetAt: iso(spent.resetAt),
        };
      }
    }
    return {
      id: limit.id,
      project: limit.project,
      deployment: limit.deployment,
      source: limit.source,
      tpm: status.tpm && { ...status.tpm, resetAt: iso(status.tpm.resetAt) },
      quota: status.quota && { ...status.quota, periodStart: iso(status.quota.periodStart), resetAt: iso(status.quota.resetAt) },
      budget,
    };
  });
}

function toSeries(points: UsagePoint[], groupBy: UsageGroupBy | null): UsageSeriesView[] {
  const byGroup = new Map<string, UsagePointView[]>();
  for (const p of points) {
    const key = p.group ?? '';
    let list = byGroup.get(key);
    if (!list) byGroup.set(key, (list = []));
    list.push(pointView(p));
  }
  return [...byGroup.entries()].map(([group, list]) => {
    const name = group === '' ? null : group;
    return groupBy ? { group: name, [groupBy]: name, points: list } : { points: list };
  });
}

function pointView(p: UsagePoint): UsagePointView {
  return {
    t: iso(p.bucketMs),
    requests: p.requests,
    tokens: p.tokens,
    avgLatencyMs: p.requests.total ? round(p.latencyMsSum / p.requests.total) : 0,
    cost: costView(p.cost),
  };
}

function costView(micros: Record<string, number>): CostView {
  const view: CostView = {};
  for (const currency of Object.keys(micros).sort()) view[currency] = money(micros[currency]!);
  return view;
}

function sum(points: UsagePoint[]): UsageReport['totals'] {
  const requests = { total: 0, ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])) } as RequestCounts;
  const tokens = { prompt: 0, completion: 0, total: 0 };
  const cost: Record<string, number> = {};
  for (const p of points) {
    for (const [currency, micros] of Object.entries(p.cost)) cost[currency] = (cost[currency] ?? 0) + micros;
    for (const key of Object.keys(requests) as (keyof RequestCounts)[]) requests[key] += p.requests[key];
    tokens.prompt += p.tokens.prompt;
    tokens.completion += p.tokens.completion;
    tokens.total += p.tokens.total;
  }
  return { requests, tokens, cost: costView(cost) };
}

function logView(e: LedgerEntry): LogView {
  return {
    id: e.id,
    time: iso(e.atMs),
    startedAt: iso(e.atMs - e.latencyMs),
    requestId: e.requestId,
    project: e.project,
    deployment: e.deployment,
    operation: e.operation,
    stream: e.stream,
    status: e.status,
    outcome: e.outcome,
    errorCode: e.errorCode,
    upstreamStatus: e.upstreamStatus,
    tokens: { prompt: e.promptTokens, completion: e.completionTokens, total: e.totalTokens },
    latencyMs: e.latencyMs,
    upstreamMs: e.upstreamMs,
    overheadMs: e.overheadMs,
    content: e.content === null ? null : (JSON.parse(e.content) as unknown),
    backend: e.backend ?? null,
    attempts: e.attempts ?? null,
    cost: e.currency ? { currency: e.currency, ...money(e.costMicros ?? 0) } : null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (n: number) => Math.round(n * 100) / 100;
