import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { McpGrant, McpLimit, McpServer } from '../../domain/mcp.js';
import type { Store } from '../../store/store.js';
import type { McpLimitUpdate } from '../admin/mcp-limits.js';
import { mcpLimitValuesProblem } from '../admin/mcp-limits.js';
import type { McpServerUpdate } from '../admin/mcp-servers.js';
import { toolName, upstreamAuthBody } from '../mcp-schemas.js';
import type { Permission } from '../permissions.js';
import { name, optionalText, quotaPeriod, tokens } from '../schemas.js';
import type { ChangeAction, StepContext } from './plan.js';

/*
 * MCP servers, grants and call limits in the declarative config document (docs/mcp.md):
 * `resources[].mcpServers`, `gateways[].mcpGrants` and `gateways[].mcpLimits`. Absent means none
 * (what pruning removes); an upstream credential's `value` absent leaves the stored one as it is.
 */

export const mcpServerDoc = z.strictObject({
  name,
  url: z.string().min(1).max(2000),
  upstreamAuth: upstreamAuthBody.optional(),
  description: optionalText(500),
  status: z.enum(['active', 'blocked']).optional(),
});
export const mcpGrantDoc = z.strictObject({
  server: name,
  project: name,
  /** null: every tool. */
  tools: z.array(toolName).max(1000).nullable(),
});
export const mcpLimitDoc = z.strictObject({
  project: name,
  server: name,
  tool: toolName.nullable().optional(),
  callsPerMinute: tokens.nullable().optional(),
  callQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
});
export type McpServerDoc = z.output<typeof mcpServerDoc>;
export type McpGrantDoc = z.output<typeof mcpGrantDoc>;
export type McpLimitDoc = z.output<typeof mcpLimitDoc>;

/** The fields a resource and a gateway of the document take (spread into their schemas). */
export const resourceMcpFields = { mcpServers: z.array(mcpServerDoc).optional() };
export const gatewayMcpFields = { mcpGrants: z.array(mcpGrantDoc).optional(), mcpLimits: z.array(mcpLimitDoc).optional() };

/** What the store holds of MCP, by name. */
export interface CurrentMcp {
  /** By resource name, then server name. */
  servers: Map<string, Map<string, McpServer>>;
  /** By gateway name, then `server/project`. */
  grants: Map<string, Map<string, { grant: McpGrant; server: string; project: string }>>;
  /** By gateway name, then `project/server/tool` (`*`: every tool). */
  limits: Map<string, Map<string, { limit: McpLimit; server: string; project: string }>>;
}

const grantKey = (server: string, project: string) => `${server}/${project}`;
const mcpLimitKey = (project: string, server: string, tool: string | null | undefined) => `${project}/${server}/${tool ?? '*'}`;

export async function readCurrentMcp(store: Store): Promise<CurrentMcp> {
  const [resources, projects, gateways, servers, grants, limits] = await Promise.all([
    store.listResources(),
    store.listProjects(),
    store.listGateways(),
    store.mcp.listServers(),
    store.mcp.listGrants(),
    store.mcp.listLimits(),
  ]);
  const resourceNames = new Map(resources.map((r) => [r.id, r.name]));
  const projectNames = new Map(projects.map((p) => [p.id, p.name]));
  const gatewayNames = new Map(gateways.map((g) => [g.id, g.name]));
  const serverById = new Map(servers.map((s) => [s.id, s]));
  const current: CurrentMcp = { servers: new Map(), grants: new Map(), limits: new Map() };
  for (const s of servers) {
    const resource = resourceNames.get(s.resourceId);
    if (resource === undefined) continue;
    let byName = current.servers.get(resource);
    if (!byName) current.servers.set(resource, (byName = new Map()));
    byName.set(s.name, s);
  }
  for (const g of grants) {
    const gateway = gatewayNames.get(g.gatewayId);
    const server = serverById.get(g.serverId)?.name;
    const project = projectNames.get(g.projectId);
    if (gateway === undefined || server === undefined || project === undefined) continue;
    let byKey = current.grants.get(gateway);
    if (!byKey) current.grants.set(gateway, (byKey = new Map()));
    byKey.set(grantKey(server, project), { grant: g, server, project });
  }
  for (const l of limits) {
    const gateway = gatewayNames.get(l.gatewayId);
    const server = serverById.get(l.serverId)?.name;
    const project = projectNames.get(l.projectId);
    if (gateway === undefined || server === undefined || project === undefined) continue;
    let byKey = current.limits.get(gateway);
    if (!byKey) current.limits.set(gateway, (byKey = new Map()));
    byKey.set(mcpLimitKey(project, server, l.tool), { limit: l, server, project });
  }
  return current;
}

/** What the MCP planning needs of the config planner. */
export interface McpPlanHooks {
  prune: boolean;
  openSecret: (sealed: string) => string;
  problem(message: string): void;
  /** The resource's document names a secret: applying it needs the permission to set it. */
  keyed(resource: string): void;
  step(action: ChangeAction, kind: McpChangeKind, target: string, permission: Permission, run: (ctx: StepContext) => Promise<unknown>, fields?: string[]): void;
  pruneStep(action: ChangeAction, kind: McpChangeKind, target: string, permission: Permission, run: (ctx: StepContext) => Promise<unknown>): void;
}
export type McpChangeKind = 'mcp-server' | 'mcp-grant' | 'mcp-limit';

/** The servers of one resource of the document. */
export function planMcpServers(resource: string, docs: readonly McpServerDoc[] | undefined, current: CurrentMcp | undefined, hooks: McpPlanHooks, resourceExists: boolean): void {
  const stored = current?.servers.get(resource) ?? new Map<string, McpServer>();
  const seen = new Set<string>();
  for (const d of docs ?? []) {
    const at = `resource "${resource}", MCP server "${d.name}"`;
    if (seen.has(d.name)) hooks.problem(`${at}: named twice`);
    seen.add(d.name);
    const problem = serverDocProblem(d);
    if (problem) hooks.problem(`${at}: ${problem}`);
    if (d.upstreamAuth?.value !== undefined) hooks.keyed(resource);
    const target = `resources/${resource}/mcp-servers/${d.name}`;
    const status = d.status ?? 'active';
    const existing = stored.get(d.name);
    if (!existing && d.upstreamAuth && d.upstreamAuth.type !== 'none' && !d.upstreamAuth.value) {
      hooks.problem(`${at}: upstreamAuth.value is required to create it with type "${d.upstreamAuth.type}" (e.g. \${VAR})`);
    }
    if (!existing) {
      hooks.step('create', 'mcp-server', target, 'manage-resources', async ({ service, actor }) => {
        await service.mcpServers.create(actor, resource, {
          name: d.name,
          url: d.url,
          ...(d.upstreamAuth ? { upstreamAuth: d.upstreamAuth } : {}),
          description: d.description ?? null,
        });
        if (status === 'blocked') await service.mcpServers.setStatus(actor, resource, d.name, 'blocked');
      });
      continue;
    }
    const patch: McpServerUpdate = {};
    if (existing.url !== d.url) patch.url = d.url;
    if (existing.description !== (d.description ?? null)) patch.description = d.description ?? null;
    const auth = d.upstreamAuth ?? { type: 'none' as const };
    const sameAuth =
      existing.authType === auth.type &&
      (auth.type !== 'header' || existing.authHeaderName === (auth.headerName ?? null)) &&
      (auth.value === undefined || sameSecret(existing.authValueSealed, auth.value ?? null, hooks.openSecret));
    if (!sameAuth) patch.upstreamAuth = auth;
    const fields = Object.keys(patch);
    if (fields.length > 0) hooks.step('update', 'mcp-server', target, 'manage-resources', ({ service, actor }) => service.mcpServers.update(actor, resource, d.name, patch), fields);
    if (existing.status !== status) {
      hooks.step('update', 'mcp-server', target, 'manage-resources', ({ service, actor }) => service.mcpServers.setStatus(actor, resource, d.name, status), ['status']);
    }
  }
  // --prune removes the servers a resource entry no longer lists; an absent list is left alone.
  if (hooks.prune && resourceExists && docs !== undefined) {
    for (const name of stored.keys()) {
      if (seen.has(name)) continue;
      hooks.pruneStep('delete', 'mcp-server', `resources/${resource}/mcp-servers/${name}`, 'manage-resources', ({ service, actor }) => service.mcpServers.delete(actor, resource, name));
    }
  }
}

/** The grants and call limits of one gateway of the document; `servers` and `projects` are the names its resource will have. */
export function planMcpGateway(
  gateway: string,
  resource: string,
  docs: { grants: readonly McpGrantDoc[] | undefined; limits: readonly McpLimitDoc[] | undefined },
  names: { servers: ReadonlySet<string>; projects: ReadonlySet<string> },
  current: CurrentMcp | undefined,
  hooks: McpPlanHooks,
  gatewayExists: boolean,
): void {
  const storedGrants = current?.grants.get(gateway) ?? new Map();
  const seenGrants = new Set<string>();
  for (const d of docs.grants ?? []) {
    const at = `gateway "${gateway}", MCP grant of server "${d.server}" to project "${d.project}"`;
    const key = grantKey(d.server, d.project);
    if (seenGrants.has(key)) hooks.problem(`${at}: named twice`);
    seenGrants.add(key);
    if (!names.servers.has(d.server)) hooks.problem(`${at}: MCP server "${d.server}" does not exist in resource "${resource}"`);
    if (!names.projects.has(d.project)) hooks.problem(`${at}: project "${d.project}" does not exist in resource "${resource}"`);
    const tools = d.tools === null ? null : [...new Set(d.tools)].sort();
    const existing = storedGrants.get(key);
    if (existing && isDeepStrictEqual(existing.grant.tools, tools)) continue;
    hooks.step(existing ? 'update' : 'create', 'mcp-grant', `gateways/${gateway}/mcp-servers/${d.server}/projects/${d.project}`, 'manage-gateways', ({ service, actor }) =>
      service.mcpGrants.put(actor, gateway, d.server, d.project, tools),
      existing ? ['tools'] : undefined,
    );
  }
  // Like its projects and limits, the grants a gateway entry lists are the whole truth; an absent list is left alone.
  if (docs.grants !== undefined && gatewayExists) {
    for (const [key, g] of storedGrants) {
      if (seenGrants.has(key)) continue;
      hooks.pruneStep('delete', 'mcp-grant', `gateways/${gateway}/mcp-servers/${g.server}/projects/${g.project}`, 'manage-gateways', ({ service, actor }) =>
        service.mcpGrants.revoke(actor, gateway, g.server, g.project),
      );
    }
  }

  const storedLimits = current?.limits.get(gateway) ?? new Map();
  const seenLimits = new Set<string>();
  for (const d of docs.limits ?? []) {
    const key = mcpLimitKey(d.project, d.server, d.tool);
    const at = `gateway "${gateway}", MCP limit ${key}`;
    if (seenLimits.has(key)) hooks.problem(`${at}: named twice (one call limit per project, server and tool)`);
    seenLimits.add(key);
    if (!names.servers.has(d.server)) hooks.problem(`${at}: MCP server "${d.server}" does not exist in resource "${resource}"`);
    if (!names.projects.has(d.project)) hooks.problem(`${at}: project "${d.project}" does not exist in resource "${resource}"`);
    const values = { callsPerMinute: d.callsPerMinute ?? null, callQuota: d.callQuota ?? null, quotaPeriod: d.quotaPeriod ?? null };
    const problem = mcpLimitValuesProblem(values);
    if (problem) hooks.problem(`${at}: ${problem.message}`);
    const target = `gateways/${gateway}/mcp-limits/${key}`;
    const existing = storedLimits.get(key);
    if (!existing) {
      hooks.step('create', 'mcp-limit', target, 'manage-gateways', ({ service, actor }) =>
        service.mcpLimits.create(actor, gateway, { project: d.project, server: d.server, tool: d.tool ?? null, ...values }),
      );
      continue;
    }
    const patch: McpLimitUpdate = {};
    for (const field of Object.keys(values) as (keyof typeof values)[]) if (existing.limit[field] !== values[field]) Object.assign(patch, { [field]: values[field] });
    const fields = Object.keys(patch);
    const id = existing.limit.id;
    if (fields.length > 0) hooks.step('update', 'mcp-limit', target, 'manage-gateways', ({ service, actor }) => service.mcpLimits.update(actor, gateway, id, patch), fields);
  }
  if (docs.limits !== undefined && gatewayExists) {
    for (const [key, l] of storedLimits) {
      if (seenLimits.has(key)) continue;
      const id = l.limit.id;
      hooks.pruneStep('delete', 'mcp-limit', `gateways/${gateway}/mcp-limits/${key}`, 'manage-gateways', ({ service, actor }) => service.mcpLimits.delete(actor, gateway, id));
    }
  }
}

/** The names of MCP servers a resource will have: the document's, plus the stored ones pruning keeps. */
export function mcpServerNames(resource: string, docs: readonly McpServerDoc[] | undefined, inDocument: boolean, current: CurrentMcp | undefined, prune: boolean): Set<string> {
  const stored = [...(current?.servers.get(resource)?.keys() ?? [])];
  if (!inDocument) return new Set(prune ? [] : stored);
  return new Set([...(docs ?? []).map((d) => d.name), ...(prune ? [] : stored)]);
}

/** The MCP servers of a resource as a document writes them (credentials left out), or nothing. */
export function exportMcpServers(current: CurrentMcp, resource: string): { mcpServers?: McpServerDoc[] } {
  const servers = [...(current.servers.get(resource)?.values() ?? [])];
  if (servers.length === 0) return {};
  return {
    mcpServers: servers.map((s) => ({
      name: s.name,
      url: s.url,
      ...(s.authType === 'none' ? {} : { upstreamAuth: { type: s.authType, ...(s.authType === 'header' ? { headerName: s.authHeaderName } : {}) } }),
      ...(s.description === null ? {} : { description: s.description }),
      ...(s.status === 'blocked' ? { status: 'blocked' as const } : {}),
    })),
  };
}

/** A gateway's grants and call limits as a document writes them, or nothing. */
export function exportMcpGateway(current: CurrentMcp, gateway: string): { mcpGrants?: McpGrantDoc[]; mcpLimits?: McpLimitDoc[] } {
  const grants = [...(current.grants.get(gateway)?.values() ?? [])].sort((a, b) => a.server.localeCompare(b.server) || a.project.localeCompare(b.project));
  const limits = [...(current.limits.get(gateway)?.entries() ?? [])].sort(([a], [b]) => a.localeCompare(b)).map(([, l]) => l);
  return {
    ...(grants.length === 0 ? {} : { mcpGrants: grants.map((g) => ({ server: g.server, project: g.project, tools: g.grant.tools })) }),
    ...(limits.length === 0
      ? {}
      : {
          mcpLimits: limits.map(({ limit, server, project }) => ({
            project,
            server,
            ...(limit.tool === null ? {} : { tool: limit.tool }),
            ...(limit.callsPerMinute === null ? {} : { callsPerMinute: limit.callsPerMinute }),
            ...(limit.callQuota === null ? {} : { callQuota: limit.callQuota, quotaPeriod: limit.quotaPeriod }),
          })),
        }),
  };
}

function serverDocProblem(d: McpServerDoc): string | null {
  try {
    const url = new URL(d.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'url must use http or https';
    if (url.username || url.password) return 'url must not carry credentials; set them in upstreamAuth';
  } catch {
    return 'url must be an absolute http or https URL';
  }
  const auth = d.upstreamAuth;
  if (auth?.type === 'header' && !auth.headerName) return 'upstreamAuth.headerName is required with type "header"';
  if (auth?.type === 'none' && (auth.value || auth.headerName)) return 'upstreamAuth type "none" takes no headerName or value';
  return null;
}

function sameSecret(sealed: string | null, value: string | null, open: (sealed: string) => string): boolean {
  if (sealed === null || value === null) return sealed === value;
  try {
    return open(sealed) === value;
  } catch {
    return false;
  }
}
