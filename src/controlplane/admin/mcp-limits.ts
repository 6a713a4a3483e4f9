import { newId } from '../../domain/ids.js';
import { mcpLimitRule, type McpLimit } from '../../domain/mcp.js';
import type { Gateway, QuotaPeriod } from '../../domain/model.js';
import { TollgateError } from '../../errors.js';
import { UniqueViolationError } from '../../store/store.js';
import { invalid, missingOnGateway, notFound } from '../admin-errors.js';
import { mcpLimitView } from '../mcp-views.js';
import type { Principal } from '../permissions.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface McpLimitInput {
  project: string;
  server: string;
  tool?: string | null;
  callsPerMinute?: number | null;
  callQuota?: number | null;
  quotaPeriod?: QuotaPeriod | null;
}
export type McpLimitUpdate = Pick<McpLimitInput, 'callsPerMinute' | 'callQuota' | 'quotaPeriod'>;

interface CallValues {
  callsPerMinute: number | null;
  callQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
}

/** The rules of a call limit's values: at least one of the two, and a quota always with its period. */
export function mcpLimitValuesProblem(v: CallValues): { message: string; param: string } | null {
  if (v.callsPerMinute === null && v.callQuota === null) return { message: 'a call limit needs callsPerMinute, callQuota, or both', param: 'callsPerMinute' };
  if (v.callQuota !== null && v.quotaPeriod === null) {
    return { message: 'quotaPeriod is required with callQuota (hourly, daily, weekly, monthly or yearly)', param: 'quotaPeriod' };
  }
  if (v.callQuota === null && v.quotaPeriod !== null) return { message: 'quotaPeriod only makes sense with callQuota', param: 'callQuota' };
  return null;
}

function checkValues(v: CallValues): CallValues {
  const problem = mcpLimitValuesProblem(v);
  if (problem) throw invalid(problem.message, problem.param);
  return v;
}

const limitExists = (project: string, scope: string) =>
  new TollgateError('limit_exists', `project "${project}" already has a call limit for ${scope} on this gateway; edit that one`, { param: 'tool' });

/** Call limits of a gateway: per project and MCP server, for one tool or all of them. */
export class McpLimitAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(gatewayName: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const names = await this.names(gateway);
    return (await this.ctx.store.mcp.listLimits(gateway.id)).map((l) => mcpLimitView(l, names.project(l), names.server(l)));
  }

  async get(gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.find(gateway, id);
    const names = await this.names(gateway);
    return mcpLimitView(limit, names.project(limit), names.server(limit));
  }

  /** The limit as the limiter knows it (the data plane's identity and tag), for its live standing. */
  async rule(gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.find(gateway, id);
    const names = await this.names(gateway);
    return { view: mcpLimitView(limit, names.project(limit), names.server(limit)), rule: mcpLimitRule(limit) };
  }

  async create(actor: Principal, gatewayName: string, input: McpLimitInput) {
    const { store } = this.ctx;
    const gateway = await this.ctx.find.gateway(gatewayName);
    const project = await store.findProject(gateway.resourceId, input.project);
    if (!project) throw missingOnGateway('project', input.project, gatewayName, 'project');
    const server = await store.mcp.findServer(gateway.resourceId, input.server);
    if (!server) throw notFound(`MCP server "${input.server}" does not exist in the resource of gateway "${gatewayName}"`, 'server');
    const tool = input.tool ?? null;
    const scope = tool === null ? `every tool of MCP server "${server.name}"` : `tool "${tool}" of MCP server "${server.name}"`;
    if (await store.mcp.findLimitByScope(gateway.id, project.id, server.id, tool)) throw limitExists(project.name, scope);
    const values = checkValues({ callsPerMinute: input.callsPerMinute ?? null, callQuota: input.callQuota ?? null, quotaPeriod: input.quotaPeriod ?? null });
    const at = now();
    const limit: McpLimit = { id: newId('mcpl'), gatewayId: gateway.id, projectId: project.id, serverId: server.id, tool, ...values, createdAt: at, updatedAt: at };
    await this.ctx.changes.change(actor, 'mcp-limit.create', `gateways/${gatewayName}/mcp-limits/${limit.id}`, { ...input }, async (tx) => {
      try {
        await tx.mcp.insertLimit(limit);
      } catch (err) {
        if (err instanceof UniqueViolationError) throw limitExists(project.name, scope);
        throw err;
      }
    });
    return mcpLimitView(limit, project.name, server.name);
  }

  async update(actor: Principal, gatewayName: string, id: string, patch: McpLimitUpdate) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.find(gateway, id);
    const values = checkValues({
      callsPerMinute: patch.callsPerMinute !== undefined ? patch.callsPerMinute : limit.callsPerMinute,
      callQuota: patch.callQuota !== undefined ? patch.callQuota : limit.callQuota,
      // Clearing the quota clears its period with it.
      quotaPeriod: patch.quotaPeriod !== undefined ? patch.quotaPeriod : patch.callQuota === null ? null : limit.quotaPeriod,
    });
    const updated: McpLimit = { ...limit, ...values, updatedAt: now() };
    await this.ctx.changes.change(actor, 'mcp-limit.update', `gateways/${gatewayName}/mcp-limits/${id}`, { ...patch }, (tx) => tx.mcp.updateLimit(id, updated));
    const names = await this.names(gateway);
    return mcpLimitView(updated, names.project(updated), names.server(updated));
  }

  async delete(actor: Principal, gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    await this.find(gateway, id);
    await this.ctx.changes.change(actor, 'mcp-limit.delete', `gateways/${gatewayName}/mcp-limits/${id}`, null, (tx) => tx.mcp.deleteLimit(id));
  }

  private async find(gateway: Gateway, id: string): Promise<McpLimit> {
    const limit = await this.ctx.store.mcp.findLimit(gateway.id, id);
    if (!limit) throw notFound(`MCP limit "${id}" does not exist on gateway "${gateway.name}"`);
    return limit;
  }

  private async names(gateway: Gateway) {
    const [projects, servers] = await Promise.all([this.ctx.store.listProjects(gateway.resourceId), this.ctx.store.mcp.listServers(gateway.resourceId)]);
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    const serverNames = new Map(servers.map((s) => [s.id, s.name]));
    return { project: (l: McpLimit) => projectNames.get(l.projectId) ?? '', server: (l: McpLimit) => serverNames.get(l.serverId) ?? '' };
  }
}
