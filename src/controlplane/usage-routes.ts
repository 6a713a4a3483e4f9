import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { OUTCOMES, type LedgerEntry, type Outcome as LedgerOutcome, type UsagePoint } from '../usage/ledger.js';
import type { UsageStore } from '../usage/ledger.js';
import type { AdminService } from './admin-service.js';
import type { CostView, GatewayUsageSummary, LimitStatusView, LogPage, LogView, McpLogPage, McpUsageReport, Outcome, RequestCounts, UsageGroupBy, UsagePointView, UsageOverview, UsageReport, UsageSeriesView } from './api-types.js';
import { money } from './views.js';
import { requires } from './route-permissions.js';
import type { AgentStore } from '../store/agent-store.js';
import type { AgentLogPage } from './agent-api-types.js';
import { agentLogPage } from './agent-routes.js';
import { parse } from './schemas.js';
import type { McpStore } from '../store/mcp-store.js';
import { mcpLogs, mcpUsage } from './mcp-routes.js';

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

/**
 * Which ledger: `model` (the default) model requests; `mcp` MCP calls (mcp-routes.ts answers
 * those); `agent` agent requests (logs only, agent-routes.ts).
 */
const kind = z.enum(['model', 'mcp', 'agent']).optional();
const isMcp = (query: unknown) => (query as Record<string, unknown> | null)?.kind === 'mcp';

const usageQuery = z.strictObject({
  kind,
  from: time.optional(),
  to: time.optional(),
  interval: z.enum(['minute', 'hour', 'day']).optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  groupBy: z.enum(['project', 'deployment']).optional(),
});

const logsQuery = z.strictObject({
  kind,
  from: time.optional(),
  to: time.optional(),
  project: z.string().optional(),
  deployment: z.string().optional(),
  outcome: z.enum(OUTCOMES).optional(),
  requestId: z.string().min(1).max(200).optional(),
  // A cursor is the id of the last entry of a page: anything else is a mistake, not "from the start".
  cursor: z.string().regex(/^[a-z]{3}_[0-9a-z]{10,60}$/, 'must be the nextCursor of a previous page').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** With `kind=agent`: one agent's requests. */
  agent: z.string().optional(),
});

const overviewQuery = z.strictObject({ from: time.optional(), to: time.optional() });

export interface UsageRouteDeps {
  service: AdminService;
  usage: UsageStore;
  limiter: Limiter;
  agents: AgentStore;
  /** MCP calls: `kind=mcp` on the logs and usage routes. */
  mcp?: McpStore;
}

/** Usage time series, request logs and limit standing: read from rollups, the ledger and the limiter. */
export function registerUsageRoutes(app: FastifyInstance, { service, usage, limiter, agents, mcp }: UsageRouteDeps): void {
  /** A gateway's usage series, filed in the ledger under `key` (its id), reported under its name. */
  const usageReport = async (name: string, key: string, query: unknown): Promise<UsageReport> => {
    const q = parse(usageQuery, query);
    if (q.kind === 'agent') throw new TollgateError('validation_failed', 'kind: usage has no agent series; see the agent logs (kind=agent on …/logs)', { param: 'kind' });
    const to = q.to ?? Date.now();
    const from = q.from ?? Math.max(0, to - DAY);
    if (from > to) throw new TollgateError('validation_failed', "from: must not be after 'to'", { param: 'from' });
    // Without an interval, the finest one that keeps the series short.
    const interval = q.interval ?? (to - from <= 6 * 3_600_000 ? 'minute' : to - from <= 14 * DAY ? 'hour' : 'day');
    const points = await usage.usage({
      gateway: key,
      fromMs: from,
      toMs: to,
      interval,
      ...(q.project ? { project: q.project } : {}),
      ...(q.deployment ? { deployment: q.deployment } : {}),
      ...(q.groupBy ? { groupBy: q.groupBy } : {}),
    });
    return {
      gateway: name,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      interval,
      groupBy: q.groupBy ?? null,
      series: toSeries(points, q.groupBy ?? null),
      totals: sum(points),
    };
  };

  /** A page of a gateway's log, filed under `key`. */
  const logPage = async (key: string, query: unknown): Promise<LogPage> => {
    const q = parse(logsQuery, query);
    // One more than asked tells whether a next page exists.
    const rows = await usage.logs({
      gateway: key,
      limit: q.limit + 1,
      ...(q.from !== undefined ? { fromMs: q.from } : {}),
      ...(q.to !== undefined ? { toMs: q.to } : {}),
      ...(q.project ? { project: q.project } : {}),
      ...(q.deployment ? { deployment: q.deployment } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(q.requestId ? { requestId: q.requestId } : {}),
      ...(q.cursor ? { before: q.cursor } : {}),
    });
    const items = rows.slice(0, q.limit).map(logView);
    return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
  };

  app.get<{ Params: { g: string } }>('/gateways/:g/usage', { config: requires('read', { summary: "A gateway's usage over time (`kind=mcp`: MCP calls, `groupBy=tool` too)", query: usageQuery, returns: 'UsageReport or McpUsageReport' }) }, async (r): Promise<UsageReport | McpUsageReport> => {
    if (mcp && isMcp(r.query)) return mcpUsage(service, mcp, r.params.g, r.query);
    const gateway = await service.gateways.get(r.params.g);
    return usageReport(gateway.name, await service.gateways.ledgerKey(r.params.g), r.query);
  });

  app.get<{ Params: { g: string } }>('/gateways/:g/logs', { config: requires('read', { summary: "A gateway's request log, newest first (`requestId=` finds one request; `kind=agent`: agent requests; `kind=mcp`: MCP calls)", query: logsQuery, returns: 'LogPage, AgentLogPage or McpLogPage' }) }, async (r): Promise<LogPage | AgentLogPage | McpLogPage> => {
    if (mcp && isMcp(r.query)) return mcpLogs(service, mcp, r.params.g, r.query);
    const q = parse(logsQuery, r.query);
    if (q.kind === 'agent') return agentLogPage(agents, await service.gateways.ledgerKey(r.params.g), q);
    const key = await service.gateways.ledgerKey(r.params.g);
    return logPage(key, r.query);
  });

  // A deleted gateway's history, by its id: its name may already belong to a new gateway.
  app.get<{ Params: { id: string } }>('/archived-gateways/:id/usage', { config: requires('read', { summary: "A deleted gateway's usage over time, by its id", query: usageQuery, returns: 'UsageReport' }) }, async (r): Promise<UsageReport> => {
    const archived = await service.gateways.getArchived(r.params.id);
    return usageReport(archived.name, archived.id, r.query);
  });

  app.get<{ Params: { id: string } }>('/archived-gateways/:id/logs', { config: requires('read', { summary: "A deleted gateway's request log, by its id", query: logsQuery, returns: 'LogPage' }) }, async (r): Promise<LogPage> => {
    const archived = await service.gateways.getArchived(r.params.id);
    return logPage(archived.id, r.query);
  });

  app.get<{ Params: { id: string } }>('/archived-gateways/:id', { config: requires('read', { summary: 'A deleted gateway, by its id', returns: 'ArchivedGatewayView' }) }, async (r) => service.gateways.getArchived(r.params.id));

  // Who uses what, across gateways: by default since 00:00 UTC today (quotas reset on UTC boundaries too).
  app.get('/usage', { config: requires('read', { summary: 'Usage across gateways (since 00:00 UTC today unless from/to say otherwise)', query: overviewQuery, returns: 'UsageOverview' }) }, async (r): Promise<UsageOverview> => {
    const q = parse(overviewQuery, r.query);
    const to = q.to ?? Date.now();
    const from = q.from ?? Math.floor(to / DAY) * DAY;
    if (from > to) throw new TollgateError('validation_failed', "from: must not be after 'to'", { param: 'from' });
    const points = await usage.usage({ fromMs: from, toMs: to, interval: to - from <= 2 * DAY ? 'hour' : 'day', groupBy: 'gateway' });
    const byKey = new Map<string, UsagePoint[]>();
    for (const p of points) {
      const list = byKey.get(p.group ?? '');
      if (list) list.push(p);
      else byKey.set(p.group ?? '', [p]);
    }
    const gateways = await service.gateways.list();
    const summaries = await Promise.all(
      gateways.map(async (g): Promise<GatewayUsageSummary> => {
        const projects = await service.gatewayProjects.list(g.name);
        const totals = sum(byKey.get(await service.gateways.ledgerKey(g.name)) ?? []);
        const { rate_limited, quota_exceeded, never_fits } = totals.requests;
        return {
          name: g.name,
          resource: g.resource,
          status: g.status,
          projects: projects.length,
          enabledProjects: projects.filter((p) => p.gatewayStatus === 'enabled').length,
          ...totals,
          refusals: rate_limited + quota_exceeded + never_fits,
        };
      }),
    );
    return { from: iso(from), to: iso(to), gateways: summaries };
  });

  app.get<{ Params: { g: string; id: string } }>('/gateways/:g/limits/:id/status', { config: requires('read', { summary: "A limit's live standing (TPM window and quota)", returns: 'LimitStatusView' }) }, async (r): Promise<LimitStatusView> => {
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
    reservedTokens: e.reservedTokens ?? null,
    maxTokensCapped: e.maxTokensCapped ?? null,
    refusal: e.refusal ? { ...e.refusal, neverFits: e.outcome === 'never_fits' } : null,
    message: e.message ?? null,
    cost: e.currency ? { currency: e.currency, ...money(e.costMicros ?? 0) } : null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (n: number) => Math.round(n * 100) / 100;
