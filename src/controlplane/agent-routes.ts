import type { FastifyInstance, FastifyRequest } from 'fastify';
import { proxyBase } from '../agents/agent-proxy.js';
import type { AgentRequestRecord } from '../agents/agent-model.js';
import type { Outcome } from '../usage/ledger.js';
import type { AgentStore } from '../store/agent-store.js';
import type { AdminService } from './admin-service.js';
import type { AgentViewContext } from './admin/agents.js';
import type { AgentLogPage, AgentLogView } from './agent-api-types.js';
import { agentBody, agentLimitBody, agentLimitPatch, agentPatch } from './agent-schemas.js';
import type { Principal } from './permissions.js';
import { requires } from './route-permissions.js';
import { parse } from './schemas.js';

/** What the routes need of the node's agent health checks. */
export interface AgentHealthSource {
  health(agentId: string): 'running' | 'unknown';
}

type P<T extends string> = { [K in T]: string };

/** Custom agents (docs/agents.md): registry, grants, block/unblock, and their request limits. */
export function registerAgentRoutes(
  app: FastifyInstance,
  deps: { service: AdminService; health: AgentHealthSource | undefined; trustProxy: boolean; publicUrl: string | undefined },
): void {
  const { service } = deps;
  const who = (r: FastifyRequest): Principal => r.principal!;
  const view = (r: FastifyRequest): AgentViewContext => ({
    base: proxyBase(r.raw, deps.publicUrl, deps.trustProxy),
    health: (id) => deps.health?.health(id) ?? 'unknown',
  });

  app.get<{ Params: P<'g'> }>('/gateways/:g/agents', { config: requires('read', { summary: "List a gateway's custom agents with their status and proxy URL", returns: '{items: AgentView[]}' }) }, async (r) => ({ items: await service.agents.list(r.params.g, view(r)) }));
  app.post<{ Params: P<'g'> }>('/gateways/:g/agents', { config: requires('manage-gateways', { summary: 'Register a custom agent (HTTP or A2A)', body: agentBody, status: 201, returns: 'AgentView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.agents.create(who(r), r.params.g, parse(agentBody, r.body), view(r)));
  });
  app.get<{ Params: P<'g' | 'a'> }>('/gateways/:g/agents/:a', { config: requires('read', { summary: 'Get a custom agent', returns: 'AgentView' }) }, async (r) => service.agents.get(r.params.g, r.params.a, view(r)));
  app.patch<{ Params: P<'g' | 'a'> }>('/gateways/:g/agents/:a', { config: requires('manage-gateways', { summary: 'Update a custom agent', body: agentPatch, returns: 'AgentView' }) }, async (r) => {
    return service.agents.update(who(r), r.params.g, r.params.a, parse(agentPatch, r.body), view(r));
  });
  app.delete<{ Params: P<'g' | 'a'> }>('/gateways/:g/agents/:a', { config: requires('manage-gateways', { summary: 'Delete a custom agent', status: 204 }) }, async (r, reply) => {
    await service.agents.delete(who(r), r.params.g, r.params.a);
    return reply.code(204).send();
  });
  app.post<{ Params: P<'g' | 'a'> }>('/gateways/:g/agents/:a/block', { config: requires('manage-gateways', { summary: 'Block an agent: every node refuses it within a second (403 agent_blocked)', returns: 'AgentView' }) }, async (r) =>
    service.agents.setBlocked(who(r), r.params.g, r.params.a, true, view(r)),
  );
  app.post<{ Params: P<'g' | 'a'> }>('/gateways/:g/agents/:a/unblock', { config: requires('manage-gateways', { summary: 'Unblock an agent', returns: 'AgentView' }) }, async (r) =>
    service.agents.setBlocked(who(r), r.params.g, r.params.a, false, view(r)),
  );
  app.put<{ Params: P<'g' | 'a' | 'p'> }>('/gateways/:g/agents/:a/projects/:p', { config: requires('manage-gateways', { summary: 'Grant another project of the resource use of the agent', returns: 'AgentView' }) }, async (r) =>
    service.agents.setGrant(who(r), r.params.g, r.params.a, r.params.p, true, view(r)),
  );
  app.delete<{ Params: P<'g' | 'a' | 'p'> }>('/gateways/:g/agents/:a/projects/:p', { config: requires('manage-gateways', { summary: "Revoke a project's use of the agent", returns: 'AgentView' }) }, async (r) =>
    service.agents.setGrant(who(r), r.params.g, r.params.a, r.params.p, false, view(r)),
  );

  app.get<{ Params: P<'g'> }>('/gateways/:g/agent-limits', { config: requires('read', { summary: "List a gateway's agent request limits", returns: '{items: AgentLimitView[]}' }) }, async (r) => ({ items: await service.agentLimits.list(r.params.g) }));
  app.post<{ Params: P<'g'> }>('/gateways/:g/agent-limits', { config: requires('manage-gateways', { summary: 'Create an agent request limit (per minute and/or a quota per period)', body: agentLimitBody, status: 201, returns: 'AgentLimitView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.agentLimits.create(who(r), r.params.g, parse(agentLimitBody, r.body)));
  });
  app.get<{ Params: P<'g' | 'id'> }>('/gateways/:g/agent-limits/:id', { config: requires('read', { summary: 'Get an agent request limit', returns: 'AgentLimitView' }) }, async (r) => service.agentLimits.get(r.params.g, r.params.id));
  app.patch<{ Params: P<'g' | 'id'> }>('/gateways/:g/agent-limits/:id', { config: requires('manage-gateways', { summary: 'Update an agent request limit', body: agentLimitPatch, returns: 'AgentLimitView' }) }, async (r) => {
    return service.agentLimits.update(who(r), r.params.g, r.params.id, parse(agentLimitPatch, r.body));
  });
  app.delete<{ Params: P<'g' | 'id'> }>('/gateways/:g/agent-limits/:id', { config: requires('manage-gateways', { summary: 'Delete an agent request limit', status: 204 }) }, async (r, reply) => {
    await service.agentLimits.delete(who(r), r.params.g, r.params.id);
    return reply.code(204).send();
  });
}

/** `GET …/logs?kind=agent`: a page of the agent request ledger, newest first. */
export async function agentLogPage(
  store: AgentStore,
  gateway: string,
  q: { limit: number; from?: number; to?: number; project?: string; agent?: string; outcome?: Outcome; cursor?: string },
): Promise<AgentLogPage> {
  const rows = await store.listRequests({
    gateway,
    limit: q.limit + 1,
    ...(q.from !== undefined ? { fromMs: q.from } : {}),
    ...(q.to !== undefined ? { toMs: q.to } : {}),
    ...(q.project ? { project: q.project } : {}),
    ...(q.agent ? { agent: q.agent } : {}),
    ...(q.outcome ? { outcome: q.outcome } : {}),
    ...(q.cursor ? { before: q.cursor } : {}),
  });
  const items = rows.slice(0, q.limit).map(agentLogView);
  return { items, nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
}

function agentLogView(r: AgentRequestRecord): AgentLogView {
  return {
    id: r.id,
    at: new Date(r.atMs).toISOString(),
    requestId: r.requestId,
    agent: r.agent,
    project: r.project,
    method: r.method,
    rpcMethod: r.rpcMethod,
    status: r.status,
    outcome: r.outcome,
    errorCode: r.errorCode,
    latencyMs: r.latencyMs,
    streamed: r.streamed,
    otelAgentId: r.otelAgentId,
  };
}
