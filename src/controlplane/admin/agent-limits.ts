import type { AgentLimit } from '../../agents/agent-model.js';
import { newId } from '../../domain/ids.js';
import type { Gateway, QuotaPeriod } from '../../domain/model.js';
import { UniqueViolationError } from '../../store/store.js';
import { alreadyExists, invalid, missingOnGateway, notFound } from '../admin-errors.js';
import type { AgentLimitView } from '../agent-api-types.js';
import { limitValuesProblem } from '../limit-values.js';
import type { Principal } from '../permissions.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface AgentLimitInput {
  agent: string;
  project: string;
  requestsPerMinute?: number | null;
  requestQuota?: number | null;
  quotaPeriod?: QuotaPeriod | null;
}
export type AgentLimitUpdate = Pick<AgentLimitInput, 'requestsPerMinute' | 'requestQuota' | 'quotaPeriod'>;
type Values = Pick<AgentLimit, 'requestsPerMinute' | 'requestQuota' | 'quotaPeriod'>;

const FIELD: Record<string, string> = { tokensPerMinute: 'requestsPerMinute', tokenQuota: 'requestQuota', quotaPeriod: 'quotaPeriod' };

/** The token limits' rules, in the words of requests: at least one value; a quota with its period. */
export function checkAgentLimitValues(v: Values): Values {
  const problem = limitValuesProblem({ tokensPerMinute: v.requestsPerMinute, tokenQuota: v.requestQuota, quotaPeriod: v.quotaPeriod });
  if (problem) {
    const message = problem.message.replaceAll('tokensPerMinute', 'requestsPerMinute').replaceAll('tokenQuota', 'requestQuota');
    throw invalid(message, FIELD[problem.param] ?? problem.param);
  }
  return v;
}

/** Requests per minute and request quotas of projects on agents (`agl_` ids: the limiter keeps them apart from token limits). */
export class AgentLimitAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(gatewayName: string): Promise<AgentLimitView[]> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const names = await this.names(gateway);
    return (await this.ctx.store.agents.listLimits(gateway.id)).map((l) => view(l, names));
  }

  async get(gatewayName: string, id: string): Promise<AgentLimitView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    return view(await this.limit(gateway, id), await this.names(gateway));
  }

  async create(actor: Principal, gatewayName: string, input: AgentLimitInput): Promise<AgentLimitView> {
    const { store } = this.ctx;
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await store.agents.findAgent(gateway.id, input.agent);
    if (!agent) throw notFound(`agent "${input.agent}" does not exist on gateway "${gatewayName}"`, 'agent');
    const project = await store.findProject(gateway.resourceId, input.project);
    if (!project) throw missingOnGateway('project', input.project, gatewayName, 'project');
    const exists = () => alreadyExists(`a limit of project "${project.name}" on agent "${agent.name}"`, 'project');
    if (await store.agents.findLimitByScope(agent.id, project.id)) throw exists();
    const values = checkAgentLimitValues({
      requestsPerMinute: input.requestsPerMinute ?? null,
      requestQuota: input.requestQuota ?? null,
      quotaPeriod: input.quotaPeriod ?? null,
    });
    const at = now();
    const limit: AgentLimit = { id: newId('agl'), gatewayId: gateway.id, agentId: agent.id, projectId: project.id, ...values, createdAt: at, updatedAt: at };
    await this.ctx.changes.change(actor, 'agent-limit.create', `gateways/${gatewayName}/agent-limits/${limit.id}`, { ...input }, async (tx) => {
      try {
        await tx.agents.insertLimit(limit);
      } catch (err) {
        if (err instanceof UniqueViolationError) throw exists();
        throw err;
      }
    });
    return view(limit, await this.names(gateway));
  }

  async update(actor: Principal, gatewayName: string, id: string, patch: AgentLimitUpdate): Promise<AgentLimitView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.limit(gateway, id);
    const values = checkAgentLimitValues({
      requestsPerMinute: patch.requestsPerMinute !== undefined ? patch.requestsPerMinute : limit.requestsPerMinute,
      requestQuota: patch.requestQuota !== undefined ? patch.requestQuota : limit.requestQuota,
      quotaPeriod: patch.quotaPeriod !== undefined ? patch.quotaPeriod : patch.requestQuota === null ? null : limit.quotaPeriod,
    });
    const updated: AgentLimit = { ...limit, ...values, updatedAt: now() };
    await this.ctx.changes.change(actor, 'agent-limit.update', `gateways/${gatewayName}/agent-limits/${id}`, { ...patch }, (tx) => tx.agents.updateLimit(id, updated));
    return view(updated, await this.names(gateway));
  }

  async delete(actor: Principal, gatewayName: string, id: string): Promise<void> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    await this.limit(gateway, id);
    await this.ctx.changes.change(actor, 'agent-limit.delete', `gateways/${gatewayName}/agent-limits/${id}`, null, (tx) => tx.agents.deleteLimit(id));
  }

  private async limit(gateway: Gateway, id: string): Promise<AgentLimit> {
    const limit = await this.ctx.store.agents.findLimit(gateway.id, id);
    if (!limit) throw notFound(`agent limit "${id}" does not exist on gateway "${gateway.name}"`);
    return limit;
  }

  private async names(gateway: Gateway) {
    const [projects, agents] = await Promise.all([this.ctx.store.listProjects(gateway.resourceId), this.ctx.store.agents.listAgents(gateway.id)]);
    return { projects: new Map(projects.map((p) => [p.id, p.name])), agents: new Map(agents.map((a) => [a.id, a.name])) };
  }
}

function view(l: AgentLimit, names: { projects: Map<string, string>; agents: Map<string, string> }): AgentLimitView {
  return {
    id: l.id,
    agent: names.agents.get(l.agentId) ?? '',
    project: names.projects.get(l.projectId) ?? '',
    requestsPerMinute: l.requestsPerMinute,
    requestQuota: l.requestQuota,
    quotaPeriod: l.quotaPeriod,
    createdAt: l.createdAt,
    updatedAt: l.updatedAt,
  };
}
