import { DEFAULT_CARD_PATH, type Agent, type AgentProtocol } from '../../agents/agent-model.js';
import { newId } from '../../domain/ids.js';
import type { Gateway } from '../../domain/model.js';
import { alreadyExists, invalid, missingOnGateway, notFound } from '../admin-errors.js';
import type { AgentStatus, AgentView } from '../agent-api-types.js';
import type { Principal } from '../permissions.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface AgentInput {
  name: string;
  project: string;
  url: string;
  protocol?: AgentProtocol;
  agentCardUrl?: string | null;
  otelAgentId?: string | null;
  adminPortalUrl?: string | null;
  description?: string | null;
}
export type AgentUpdate = Partial<Omit<AgentInput, 'name' | 'project'>>;

/** What a view needs from the request and the node: the proxy's base address and the health checks. */
export interface AgentViewContext {
  /** `http://host:port` clients reach the gateway at. */
  base: string;
  health(agentId: string): 'running' | 'unknown';
}

/** Where an A2A agent's card is: as given (absolute, or a path under its URL), else the well-known path. */
export function resolveCardUrl(protocol: AgentProtocol, url: string, given: string | null | undefined): string | null {
  if (protocol !== 'a2a') return null;
  const card = given ?? DEFAULT_CARD_PATH;
  return card.startsWith('/') ? url.replace(/\/+$/, '') + card : card;
}

/** Custom agents of a gateway: registration, grants to other projects, block and unblock. */
export class AgentAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(gatewayName: string, view: AgentViewContext): Promise<AgentView[]> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agents = await this.ctx.store.agents.listAgents(gateway.id);
    const names = await this.projectNames(gateway);
    const grants = await this.ctx.store.agents.listGrants();
    return agents.map((a) => this.view(a, names, grants.filter((g) => g.agentId === a.id).map((g) => g.projectId), view));
  }

  async get(gatewayName: string, name: string, view: AgentViewContext): Promise<AgentView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await this.agent(gateway, name);
    return this.viewOf(gateway, agent, view);
  }

  async create(actor: Principal, gatewayName: string, input: AgentInput, view: AgentViewContext): Promise<AgentView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const project = await this.ctx.store.findProject(gateway.resourceId, input.project);
    if (!project) throw missingOnGateway('project', input.project, gatewayName, 'project');
    if (await this.ctx.store.agents.findAgent(gateway.id, input.name)) throw alreadyExists(`agent "${input.name}" on gateway "${gatewayName}"`);
    const protocol = input.protocol ?? 'http';
    const at = now();
    const agent: Agent = {
      id: newId('agt'),
      gatewayId: gateway.id,
      projectId: project.id,
      name: input.name,
      url: input.url,
      protocol,
      agentCardUrl: resolveCardUrl(protocol, input.url, input.agentCardUrl),
      otelAgentId: input.otelAgentId ?? null,
      adminPortalUrl: input.adminPortalUrl ?? null,
      description: input.description ?? null,
      blocked: false,
      createdAt: at,
      updatedAt: at,
    };
    await this.ctx.changes.change(actor, 'agent.create', this.target(gatewayName, agent.name), { ...input }, (tx) => tx.agents.insertAgent(agent));
    return this.viewOf(gateway, agent, view);
  }

  async update(actor: Principal, gatewayName: string, name: string, patch: AgentUpdate, view: AgentViewContext): Promise<AgentView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await this.agent(gateway, name);
    const url = patch.url ?? agent.url;
    const protocol = patch.protocol ?? agent.protocol;
    // A new URL or protocol moves a default card with it; a card URL given explicitly stays.
    const cardGiven = patch.agentCardUrl !== undefined ? patch.agentCardUrl : agent.agentCardUrl === resolveCardUrl('a2a', agent.url, null) ? null : agent.agentCardUrl;
    const updated: Agent = {
      ...agent,
      url,
      protocol,
      agentCardUrl: resolveCardUrl(protocol, url, cardGiven),
      otelAgentId: patch.otelAgentId !== undefined ? patch.otelAgentId : agent.otelAgentId,
      adminPortalUrl: patch.adminPortalUrl !== undefined ? patch.adminPortalUrl : agent.adminPortalUrl,
      description: patch.description !== undefined ? patch.description : agent.description,
      updatedAt: now(),
    };
    await this.ctx.changes.change(actor, 'agent.update', this.target(gatewayName, name), { ...patch }, (tx) => tx.agents.updateAgent(agent.id, updated));
    return this.viewOf(gateway, updated, view);
  }

  async delete(actor: Principal, gatewayName: string, name: string): Promise<void> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await this.agent(gateway, name);
    await this.ctx.changes.change(actor, 'agent.delete', this.target(gatewayName, name), null, (tx) => tx.agents.deleteAgent(agent.id));
  }

  /** Blocks (or unblocks) every request to the agent, on every node with the next snapshot. */
  async setBlocked(actor: Principal, gatewayName: string, name: string, blocked: boolean, view: AgentViewContext): Promise<AgentView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await this.agent(gateway, name);
    const updated: Agent = { ...agent, blocked, updatedAt: now() };
    await this.ctx.changes.change(actor, blocked ? 'agent.block' : 'agent.unblock', this.target(gatewayName, name), null, (tx) =>
      tx.agents.updateAgent(agent.id, { blocked, updatedAt: updated.updatedAt }),
    );
    return this.viewOf(gateway, updated, view);
  }

  /** Grants (or revokes) another project of the gateway's resource the use of the agent. */
  async setGrant(actor: Principal, gatewayName: string, name: string, projectName: string, granted: boolean, view: AgentViewContext): Promise<AgentView> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const agent = await this.agent(gateway, name);
    const project = await this.ctx.store.findProject(gateway.resourceId, projectName);
    if (!project) throw missingOnGateway('project', projectName, gatewayName);
    if (project.id === agent.projectId) {
      if (granted) return this.viewOf(gateway, agent, view);
      throw invalid(`project "${projectName}" owns agent "${name}": its access cannot be revoked`, 'project');
    }
    const target = `${this.target(gatewayName, name)}/projects/${projectName}`;
    if (granted) {
      await this.ctx.changes.change(actor, 'agent.grant', target, null, (tx) => tx.agents.putGrant({ agentId: agent.id, projectId: project.id, createdAt: now() }));
    } else {
      const grants = await this.ctx.store.agents.listGrants(agent.id);
      if (!grants.some((g) => g.projectId === project.id)) throw notFound(`project "${projectName}" is not granted agent "${name}"`);
      await this.ctx.changes.change(actor, 'agent.revoke', target, null, async (tx) => {
        await tx.agents.deleteGrant(agent.id, project.id);
      });
    }
    return this.viewOf(gateway, agent, view);
  }

  /** The agent named on the gateway, or not_found. */
  async agent(gateway: Gateway, name: string): Promise<Agent> {
    const agent = await this.ctx.store.agents.findAgent(gateway.id, name);
    if (!agent) throw notFound(`agent "${name}" does not exist on gateway "${gateway.name}"`);
    return agent;
  }

  private target(gatewayName: string, name: string): string {
    return `gateways/${gatewayName}/agents/${name}`;
  }

  private async projectNames(gateway: Gateway): Promise<Map<string, string>> {
    return new Map((await this.ctx.store.listProjects(gateway.resourceId)).map((p) => [p.id, p.name]));
  }

  private async viewOf(gateway: Gateway, agent: Agent, view: AgentViewContext): Promise<AgentView> {
    const grants = await this.ctx.store.agents.listGrants(agent.id);
    return this.view(agent, await this.projectNames(gateway), grants.map((g) => g.projectId), view);
  }

  private view(a: Agent, names: ReadonlyMap<string, string>, granted: string[], ctx: AgentViewContext): AgentView {
    const status: AgentStatus = a.blocked ? 'blocked' : ctx.health(a.id);
    return {
      name: a.name,
      project: names.get(a.projectId) ?? '',
      url: a.url,
      protocol: a.protocol,
      agentCardUrl: a.agentCardUrl,
      otelAgentId: a.otelAgentId,
      adminPortalUrl: a.adminPortalUrl,
      description: a.description,
      projects: granted.map((id) => names.get(id) ?? '').filter((n) => n !== '').sort(),
      proxyUrl: `${ctx.base}/agents/${encodeURIComponent(a.name)}`,
      status,
      createdAt: a.createdAt,
      updatedAt: a.updatedAt,
    };
  }
}
