import type { Agent, AgentLimit } from '../../agents/agent-model.js';
import type { Store } from '../../store/store.js';
import { resolveCardUrl, type AgentUpdate, type AgentViewContext } from '../admin/agents.js';
import { checkAgentLimitValues } from '../admin/agent-limits.js';
import type { AdminService } from '../admin-service.js';
import type { Permission, Principal } from '../permissions.js';
import type { AgentDoc, AgentLimitDoc } from './agent-doc.js';

/** A gateway's agents as the store holds them, by name, with project names resolved. */
export interface CurrentAgents {
  agents: Map<string, { agent: Agent; project: string; granted: string[] }>;
  /** Keyed by `agent/project`. */
  limits: Map<string, { limit: AgentLimit; agent: string; project: string }>;
}

/** Reads every gateway's agents (by gateway id); project names come from `projectNames`. */
export async function readCurrentAgents(store: Store, projectNames: ReadonlyMap<string, string>): Promise<Map<string, CurrentAgents>> {
  const records = await store.agents.loadRecords();
  const byGateway = new Map<string, CurrentAgents>();
  const of = (gatewayId: string) => {
    let entry = byGateway.get(gatewayId);
    if (!entry) byGateway.set(gatewayId, (entry = { agents: new Map(), limits: new Map() }));
    return entry;
  };
  const agentsById = new Map(records.agents.map((a) => [a.id, a]));
  for (const a of records.agents) {
    const granted = records.grants.filter((g) => g.agentId === a.id).map((g) => projectNames.get(g.projectId) ?? '').filter((n) => n !== '').sort();
    of(a.gatewayId).agents.set(a.name, { agent: a, project: projectNames.get(a.projectId) ?? '', granted });
  }
  for (const l of records.limits) {
    const agent = agentsById.get(l.agentId)?.name;
    const project = projectNames.get(l.projectId);
    if (agent === undefined || project === undefined) continue;
    of(l.gatewayId).limits.set(`${agent}/${project}`, { limit: l, agent, project });
  }
  return byGateway;
}

/** A gateway's agents and agent limits as the document states them. */
export function exportAgents(current: CurrentAgents | undefined): { agents?: AgentDoc[]; agentLimits?: AgentLimitDoc[] } {
  if (!current || (current.agents.size === 0 && current.limits.size === 0)) return {};
  const agents = [...current.agents.values()].map(({ agent: a, project, granted }): AgentDoc => ({
    name: a.name,
    project,
    url: a.url,
    protocol: a.protocol,
    ...(a.agentCardUrl !== null && a.agentCardUrl !== resolveCardUrl('a2a', a.url, null) ? { agentCardUrl: a.agentCardUrl } : {}),
    ...(a.otelAgentId === null ? {} : { otelAgentId: a.otelAgentId }),
    ...(a.adminPortalUrl === null ? {} : { adminPortalUrl: a.adminPortalUrl }),
    ...(a.description === null ? {} : { description: a.description }),
    blocked: a.blocked,
    projects: granted,
  }));
  const agentLimits = [...current.limits.values()]
    .sort((x, y) => x.agent.localeCompare(y.agent) || x.project.localeCompare(y.project))
    .map(({ limit: l, agent, project }): AgentLimitDoc => ({
      agent,
      project,
      ...(l.requestsPerMinute === null ? {} : { requestsPerMinute: l.requestsPerMinute }),
      ...(l.requestQuota === null ? {} : { requestQuota: l.requestQuota }),
      ...(l.quotaPeriod === null ? {} : { quotaPeriod: l.quotaPeriod }),
    }));
  return { agents, agentLimits };
}

type Run = (ctx: { service: AdminService; actor: Principal }) => Promise<unknown>;

/** What the config planner lends the agents' part of a plan. */
export interface AgentPlanSink {
  prune: boolean;
  step(action: 'create' | 'update' | 'delete', kind: 'agent' | 'agent-limit', target: string, permission: Permission, run: Run, fields?: string[]): void;
  pruneStep(action: 'delete', kind: 'agent' | 'agent-limit', target: string, permission: Permission, run: Run): void;
  problem(message: string): void;
}

/** Views are not read back during an apply: no address, no health. */
const NO_VIEW: AgentViewContext = { base: '', health: () => 'unknown' };

/**
 * The steps that make a gateway's agents and agent limits match the document. A gateway without
 * an `agents` (or `agentLimits`) list leaves those alone, prune or not.
 */
export function planAgents(
  gateway: string,
  doc: { agents?: AgentDoc[] | undefined; agentLimits?: AgentLimitDoc[] | undefined },
  projects: ReadonlySet<string>,
  current: CurrentAgents | undefined,
  sink: AgentPlanSink,
): void {
  const at = (name: string) => `gateway "${gateway}", agent "${name}"`;
  if (doc.agents) {
    const seen = new Set<string>();
    for (const a of doc.agents) {
      if (seen.has(a.name)) sink.problem(`${at(a.name)}: named twice`);
      seen.add(a.name);
      for (const p of [a.project, ...a.projects]) if (!projects.has(p)) sink.problem(`${at(a.name)}: project "${p}" is not a project of the gateway's resource`);
      const target = `gateways/${gateway}/agents/${a.name}`;
      const existing = current?.agents.get(a.name);
      const granted = a.projects.filter((p) => p !== a.project);
      if (!existing) {
        sink.step('create', 'agent', target, 'manage-gateways', async ({ service, actor }) => {
          const { blocked, projects: _granted, ...input } = a;
          await service.agents.create(actor, gateway, input, NO_VIEW);
          for (const p of granted) await service.agents.setGrant(actor, gateway, a.name, p, true, NO_VIEW);
          if (blocked) await service.agents.setBlocked(actor, gateway, a.name, true, NO_VIEW);
        });
        continue;
      }
      if (existing.project !== a.project) sink.problem(`${at(a.name)}: it belongs to project "${existing.project}"; an agent's project cannot change (delete it to move it)`);
      const e = existing.agent;
      const desired = {
        url: a.url,
        protocol: a.protocol,
        agentCardUrl: resolveCardUrl(a.protocol, a.url, a.agentCardUrl),
        otelAgentId: a.otelAgentId ?? null,
        adminPortalUrl: a.adminPortalUrl ?? null,
        description: a.description ?? null,
      };
      const patch: AgentUpdate = {};
      for (const field of Object.keys(desired) as (keyof typeof desired)[]) if (e[field] !== desired[field]) Object.assign(patch, { [field]: field === 'agentCardUrl' ? (a.agentCardUrl ?? null) : desired[field] });
      const grant = granted.filter((p) => !existing.granted.includes(p));
      const revoke = existing.granted.filter((p) => !granted.includes(p));
      const fields = [...Object.keys(patch), ...(e.blocked !== a.blocked ? ['blocked'] : []), ...(grant.length + revoke.length > 0 ? ['projects'] : [])];
      if (fields.length === 0) continue;
      sink.step(
        'update',
        'agent',
        target,
        'manage-gateways',
        async ({ service, actor }) => {
          if (Object.keys(patch).length > 0) await service.agents.update(actor, gateway, a.name, patch, NO_VIEW);
          for (const p of grant) await service.agents.setGrant(actor, gateway, a.name, p, true, NO_VIEW);
          for (const p of revoke) await service.agents.setGrant(actor, gateway, a.name, p, false, NO_VIEW);
          if (e.blocked !== a.blocked) await service.agents.setBlocked(actor, gateway, a.name, a.blocked, NO_VIEW);
        },
        fields,
      );
    }
    if (sink.prune && current) {
      for (const name of current.agents.keys()) {
        if (seen.has(name)) continue;
        sink.pruneStep('delete', 'agent', `gateways/${gateway}/agents/${name}`, 'manage-gateways', ({ service, actor }) => service.agents.delete(actor, gateway, name));
      }
    }
  }

  if (doc.agentLimits) {
    const named = new Set([...(doc.agents ?? []).map((a) => a.name), ...(current?.agents.keys() ?? [])]);
    const seen = new Set<string>();
    for (const l of doc.agentLimits) {
      const key = `${l.agent}/${l.project}`;
      const where = `gateway "${gateway}", agent limit of project "${l.project}" on agent "${l.agent}"`;
      if (seen.has(key)) sink.problem(`${where}: named twice`);
      seen.add(key);
      if (!named.has(l.agent)) sink.problem(`${where}: no such agent on the gateway`);
      if (!projects.has(l.project)) sink.problem(`${where}: project "${l.project}" is not a project of the gateway's resource`);
      const values = { requestsPerMinute: l.requestsPerMinute ?? null, requestQuota: l.requestQuota ?? null, quotaPeriod: l.quotaPeriod ?? null };
      try {
        checkAgentLimitValues(values);
      } catch (err) {
        sink.problem(`${where}: ${(err as Error).message}`);
      }
      const existing = current?.limits.get(key);
      const target = `gateways/${gateway}/agent-limits/${key}`;
      if (!existing) {
        sink.step('create', 'agent-limit', target, 'manage-gateways', ({ service, actor }) => service.agentLimits.create(actor, gateway, { agent: l.agent, project: l.project, ...values }));
        continue;
      }
      const fields = (Object.keys(values) as (keyof typeof values)[]).filter((f) => existing.limit[f] !== values[f]);
      const id = existing.limit.id;
      if (fields.length > 0) sink.step('update', 'agent-limit', target, 'manage-gateways', ({ service, actor }) => service.agentLimits.update(actor, gateway, id, values), fields);
    }
    if (sink.prune && current) {
      for (const [key, { limit }] of current.limits) {
        if (seen.has(key)) continue;
        sink.pruneStep('delete', 'agent-limit', `gateways/${gateway}/agent-limits/${key}`, 'manage-gateways', ({ service, actor }) => service.agentLimits.delete(actor, gateway, limit.id));
      }
    }
  }
}
