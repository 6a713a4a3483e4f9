import { newId } from '../../domain/ids.js';
import type { McpGrant, McpServer } from '../../domain/mcp.js';
import type { Gateway, Project } from '../../domain/model.js';
import { missingOnGateway, notFound } from '../admin-errors.js';
import { mcpGrantView } from '../mcp-views.js';
import type { Principal } from '../permissions.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

/** Which projects reach which MCP servers on a gateway, and with which tools. */
export class McpGrantAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(gatewayName: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const [grants, servers, projects] = await Promise.all([
      this.ctx.store.mcp.listGrants(gateway.id),
      this.ctx.store.mcp.listServers(gateway.resourceId),
      this.ctx.store.listProjects(gateway.resourceId),
    ]);
    const serverById = new Map(servers.map((s) => [s.id, s]));
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    return grants
      .filter((g) => serverById.has(g.serverId))
      .map((g) => mcpGrantView(g, serverById.get(g.serverId)!, projectNames.get(g.projectId) ?? ''))
      .sort((a, b) => a.server.localeCompare(b.server) || a.project.localeCompare(b.project));
  }

  /** Grants the server to the project (or replaces its allow-list): `tools` null for every tool. */
  async put(actor: Principal, gatewayName: string, serverName: string, projectName: string, tools: string[] | null) {
    const { gateway, server, project } = await this.scope(gatewayName, serverName, projectName);
    const existing = await this.ctx.store.mcp.findGrant(gateway.id, server.id, project.id);
    const at = now();
    const allowed = tools === null ? null : [...new Set(tools)].sort();
    const grant: McpGrant = {
      id: existing?.id ?? newId('mcg'),
      gatewayId: gateway.id,
      serverId: server.id,
      projectId: project.id,
      tools: allowed,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await this.ctx.changes.change(actor, 'mcp-grant.put', `gateways/${gatewayName}/mcp-servers/${serverName}/projects/${projectName}`, { tools: allowed }, (tx) =>
      tx.mcp.putGrant(grant),
    );
    return mcpGrantView(grant, server, project.name);
  }

  async revoke(actor: Principal, gatewayName: string, serverName: string, projectName: string) {
    const { gateway, server, project } = await this.scope(gatewayName, serverName, projectName);
    const existing = await this.ctx.store.mcp.findGrant(gateway.id, server.id, project.id);
    if (!existing) throw notFound(`project "${projectName}" has no grant to MCP server "${serverName}" on gateway "${gatewayName}"`);
    await this.ctx.changes.change(actor, 'mcp-grant.delete', `gateways/${gatewayName}/mcp-servers/${serverName}/projects/${projectName}`, null, (tx) =>
      tx.mcp.deleteGrant(existing.id),
    );
  }

  private async scope(gatewayName: string, serverName: string, projectName: string): Promise<{ gateway: Gateway; server: McpServer; project: Project }> {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const server = await this.ctx.store.mcp.findServer(gateway.resourceId, serverName);
    if (!server) throw notFound(`MCP server "${serverName}" does not exist in the resource of gateway "${gatewayName}"`);
    const project = await this.ctx.store.findProject(gateway.resourceId, projectName);
    if (!project) throw missingOnGateway('project', projectName, gatewayName);
    return { gateway, server, project };
  }
}
