import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { MCP_OUTCOMES, type McpCallEntry, type McpStore, type McpUsagePoint } from '../store/mcp-store.js';
import { INTERVAL_MS } from '../usage/ledger.js';
import type { AdminService } from './admin-service.js';
import type { McpLimitStatusView, McpLogPage, McpLogView, McpUsageGroupBy, McpUsageReport, McpUsageSeriesView, McpCallCounts } from './api-types.js';
import { mcpGrantBody, mcpLimitBody, mcpLimitPatch, mcpServerBody, mcpServerPatch } from './mcp-schemas.js';
import type { Principal } from './permissions.js';
import { requires } from './route-permissions.js';
import { parse } from './schemas.js';

type P<T extends string> = { [K in T]: string };

export interface McpRouteDeps {
  service: AdminService;
  limiter: Limiter;
}

/**
 * The MCP admin routes (docs/mcp.md): servers of a resource, grants and call limits of a gateway.
 * Registered inside adminRoutes, so the same authentication and permission check apply.
 */
export function registerMcpRoutes(app: FastifyInstance, { service, limiter }: McpRouteDeps): void {
  const who = (r: FastifyRequest): Principal => r.principal!;
  const list = <T>(items: T[]) => ({ items });

  // Servers of a resource
  app.get<{ Params: P<'r'> }>('/resources/:r/mcp-servers', { config: requires('read', { summary: "List a resource's MCP servers", returns: '{items: McpServerView[]}' }) }, async (r) => list(await service.mcpServers.list(r.params.r)));
  app.post<{ Params: P<'r'> }>('/resources/:r/mcp-servers', { config: requires('manage-resources', { summary: 'Register an MCP server (its upstream credential is sealed and never returned)', body: mcpServerBody, status: 201, returns: 'McpServerView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.mcpServers.create(who(r), r.params.r, parse(mcpServerBody, r.body)));
  });
  app.get<{ Params: P<'r' | 'name'> }>('/resources/:r/mcp-servers/:name', { config: requires('read', { summary: 'Get an MCP server', returns: 'McpServerView' }) }, async (r) => service.mcpServers.get(r.params.r, r.params.name));
  app.patch<{ Params: P<'r' | 'name'> }>('/resources/:r/mcp-servers/:name', { config: requires('manage-resources', { summary: 'Update an MCP server', body: mcpServerPatch, returns: 'McpServerView' }) }, async (r) => {
    return service.mcpServers.update(who(r), r.params.r, r.params.name, parse(mcpServerPatch, r.body));
  });
  app.delete<{ Params: P<'r' | 'name'> }>('/resources/:r/mcp-servers/:name', { config: requires('manage-resources', { summary: 'Delete an MCP server', status: 204 }) }, async (r, reply) => {
    await service.mcpServers.delete(who(r), r.params.r, r.params.name);
    return reply.code(204).send();
  });
  app.post<{ Params: P<'r' | 'name'> }>('/resources/:r/mcp-servers/:name/block', { config: requires('manage-resources', { summary: 'Block an MCP server: every node refuses it within a second (403 mcp_server_blocked)', returns: 'McpServerView' }) }, async (r) =>
    service.mcpServers.setStatus(who(r), r.params.r, r.params.name, 'blocked'),
  );
  app.post<{ Params: P<'r' | 'name'> }>('/resources/:r/mcp-servers/:name/unblock', { config: requires('manage-resources', { summary: 'Unblock an MCP server', returns: 'McpServerView' }) }, async (r) =>
    service.mcpServers.setStatus(who(r), r.params.r, r.params.name, 'active'),
  );

  // Grants on a gateway
  app.get<{ Params: P<'g'> }>('/gateways/:g/mcp-servers', { config: requires('read', { summary: "List a gateway's MCP grants (project, server, tool allow-list)", returns: '{items: McpGrantView[]}' }) }, async (r) => list(await service.mcpGrants.list(r.params.g)));
  app.put<{ Params: P<'g' | 'server' | 'p'> }>('/gateways/:g/mcp-servers/:server/projects/:p', { config: requires('manage-gateways', { summary: 'Grant a project an MCP server (tools: null = every tool, or an allow-list)', body: mcpGrantBody, returns: 'McpGrantView' }) }, async (r) => {
    const body = parse(mcpGrantBody, r.body);
    return service.mcpGrants.put(who(r), r.params.g, r.params.server, r.params.p, body.tools);
  });
  app.delete<{ Params: P<'g' | 'server' | 'p'> }>('/gateways/:g/mcp-servers/:server/projects/:p', { config: requires('manage-gateways', { summary: "Revoke a project's access to an MCP server", status: 204 }) }, async (r, reply) => {
    await service.mcpGrants.revoke(who(r), r.params.g, r.params.server, r.params.p);
    return reply.code(204).send();
  });

  // Call limits on a gateway
  app.get<{ Params: P<'g'> }>('/gateways/:g/mcp-limits', { config: requires('read', { summary: "List a gateway's MCP call limits", returns: '{items: McpLimitView[]}' }) }, async (r) => list(await service.mcpLimits.list(r.params.g)));
  app.post<{ Params: P<'g'> }>('/gateways/:g/mcp-limits', { config: requires('manage-gateways', { summary: 'Create an MCP call limit (per project and server, optionally one tool)', body: mcpLimitBody, status: 201, returns: 'McpLimitView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.mcpLimits.create(who(r), r.params.g, parse(mcpLimitBody, r.body)));
  });
  app.get<{ Params: P<'g' | 'id'> }>('/gateways/:g/mcp-limits/:id', { config: requires('read', { summary: 'Get an MCP call limit', returns: 'McpLimitView' }) }, async (r) => service.mcpLimits.get(r.params.g, r.params.id));
  app.patch<{ Params: P<'g' | 'id'> }>('/gateways/:g/mcp-limits/:id', { config: requires('manage-gateways', { summary: 'Update an MCP call limit', body: mcpLimitPatch, returns: 'McpLimitView' }) }, async (r) => {
    return service.mcpLimits.update(who(r), r.params.g, r.params.id, parse(mcpLimitPatch, r.body));
  });
  app.delete<{ Params: P<'g' | 'id'> }>('/gateways/:g/mcp-limits/:id', { config: requires('manage-gateways', { summary: 'Delete an MCP call limit', status: 204 }) }, async (r, reply) => {
    await service.mcpLimits.delete(who(r), r.params.g, r.params.id);
    return reply.code(204).send();
  });
  app.get<{ Params: P<'g' | 'id'> }>('/gateways/:g/mcp-limits/:id/status', { config: requires('read', { summary: "An MCP call limit's live standing (every node's calls)", returns: 'McpLimitStatusView' }) }, async (r): Promise<McpLimitStatusView> => {
    const { view, rule } = await service.mcpLimits.rule(r.params.g, r.params.id);
    const status = await limiter.peek(rule);
    return {
      id: view.id,
      project: view.project,
      server: view.server,
      tool: view.tool,
      perMinute: status.tpm && { ...status.tpm, resetAt: iso(status.tpm.resetAt) },
      quota: status.quota && { ...status.quota, periodStart: iso(status.quota.periodStart), resetAt: iso(status.quota.resetAt) },
    };
  });
}

// `GET /gateways/{g}/logs?kind=mcp` and `GET /gateways/{g}/usage?kind=mcp` (usage-routes.ts hands them here).

const DAY = 86_400_000;
const MAX_TIME_MS = 253_402_300_799_999;
const time = z.union([
  z.coerce.number().int().nonnegative().max(MAX_TIME_MS, 'must be a time before the year 10000 (ms since epoch or ISO 8601)'),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const mcpLogsQuery = z.strictObject({
  kind: z.literal('mcp'),
  from: time.optional(),
  to: time.optional(),
  project: z.string().optional(),
  server: z.string().optional(),
  tool: z.string().optional(),
  outcome: z.enum(MCP_OUTCOMES).optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const mcpUsageQuery = z.strictObject({
  kind: z.literal('mcp'),
  from: time.optional(),
  to: time.optional(),
  interval: z.enum(['minute', 'hour', 'day']).optional(),
  project: z.string().optional(),
  server: z.string().optional(),
  groupBy: z.enum(['project', 'server', 'tool']).optional(),
});

/** The MCP calls of a gateway, newest first. */
export async function mcpLogs(service: AdminService, mcp: McpStore, gatewayName: string, query: unknown): Promise<McpLogPage> {
  const gateway = await service.gateways.get(gatewayName);
  const q = parse(mcpLogsQuery, query);
  const rows = await mcp.calls({
    gateway: await service.gateways.ledgerKey(gateway.name),
    limit: q.limit + 1,
    ...(q.from !== undefined ? { fromMs: q.from } : {}),
    ...(q.to !== undefined ? { toMs: q.to } : {}),
    ...(q.project ? { project: q.project } : {}),
    ...(q.server ? { server: q.server } : {}),
    ...(q.tool ? { tool: q.tool } : {}),
    ...(q.outcome ? { outcome: q.outcome } : {}),
    ...(q.cursor ? { before: q.cursor } : {}),
  });
  const items = rows.slice(0, q.limit).map(mcpLogView);
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
}

/** MCP calls per bucket, by outcome; grouped by project, server or tool. */
export async function mcpUsage(service: AdminService, mcp: McpStore, gatewayName: string, query: unknown): Promise<McpUsageReport> {
  const gateway = await service.gateways.get(gatewayName);
  const q = parse(mcpUsageQuery, query);
  const to = q.to ?? Date.now();
  const from = q.from ?? Math.max(0, to - DAY);
  if (from > to) throw new TollgateError('validation_failed', "from: must not be after 'to'", { param: 'from' });
  const interval = q.interval ?? (to - from <= 6 * 3_600_000 ? 'minute' : to - from <= 14 * DAY ? 'hour' : 'day');
  const points = await mcp.usage({
    gateway: await service.gateways.ledgerKey(gateway.name),
    fromMs: from,
    toMs: to,
    intervalMs: INTERVAL_MS[interval],
    ...(q.project ? { project: q.project } : {}),
    ...(q.server ? { server: q.server } : {}),
    ...(q.groupBy ? { groupBy: q.groupBy } : {}),
  });
  const totals = emptyCounts();
  for (const p of points) for (const k of Object.keys(totals) as (keyof McpCallCounts)[]) totals[k] += p.calls[k];
  return {
    kind: 'mcp',
    gateway: gateway.name,
    from: iso(from),
    to: iso(to),
    interval,
    groupBy: q.groupBy ?? null,
    series: toSeries(points, q.groupBy ?? null),
    totals: { calls: totals },
  };
}

function toSeries(points: McpUsagePoint[], groupBy: McpUsageGroupBy | null): McpUsageSeriesView[] {
  const byGroup = new Map<string, McpUsageSeriesView>();
  for (const p of points) {
    const name = p.group ?? '';
    let series = byGroup.get(name);
    if (!series) byGroup.set(name, (series = groupBy ? { group: p.group, [groupBy]: p.group, points: [] } : { points: [] }));
    series.points.push({ t: iso(p.bucketMs), calls: p.calls, avgLatencyMs: p.calls.total ? Math.round((p.latencyMsSum / p.calls.total) * 100) / 100 : 0 });
  }
  return [...byGroup.values()];
}

const emptyCounts = (): McpCallCounts => ({ total: 0, ok: 0, rate_limited: 0, quota_exceeded: 0, rejected: 0, upstream_error: 0, client_aborted: 0 });

function mcpLogView(e: McpCallEntry): McpLogView {
  return {
    id: e.id,
    time: iso(e.atMs),
    startedAt: iso(e.atMs - e.latencyMs),
    requestId: e.requestId,
    project: e.project,
    server: e.server,
    method: e.method,
    tool: e.tool,
    status: e.status,
    outcome: e.outcome,
    errorCode: e.errorCode,
    latencyMs: e.latencyMs,
    upstreamMs: e.upstreamMs,
    session: e.session,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
