import { mcpLimitRule, type McpAuthType } from '../domain/mcp.js';
import type { QuotaPeriod } from '../domain/model.js';
import type { LimitRule } from '../limits/limiter.js';
import type { SecretBox } from '../security/secret-box.js';
import type { ConfigRecords } from '../store/store.js';
import type { GatewayRuntime } from '../snapshot/config-snapshot.js';

/**
 * The MCP part of a config snapshot: what the /mcp/{server} proxy decides from, in memory (a
 * server's status, a project's grant and allow-list, the call limits). Built with the rest of the
 * snapshot, so a block or a grant reaches every node with the next config version.
 */
export interface McpIndex {
  /** The server of that name on the resource, blocked or not. */
  server(resourceName: string, name: string): McpServerRuntime | undefined;
  /** The project's grant to the server on the gateway; undefined: not granted. */
  grant(gatewayId: string, projectId: string, serverId: string): McpGrantRuntime | undefined;
  /** Every call limit of the gateways served here (for re-seeding the counters). */
  limits(): readonly McpLimitRuntime[];
}

export interface McpServerRuntime {
  readonly id: string;
  readonly name: string;
  readonly resourceName: string;
  readonly url: string;
  readonly blocked: boolean;
  readonly authType: McpAuthType;
  /** The header carrying the upstream credential (lowercase) and its value, opened in memory only; null: none. */
  readonly authHeader: { readonly name: string; readonly value: string } | null;
}

export interface McpGrantRuntime {
  /** null: every tool. */
  readonly tools: ReadonlySet<string> | null;
  /** The call limits a call of the tool counts against: the tool's own and the server-wide ones. */
  limitsFor(tool: string): readonly McpLimitRuntime[];
  /** Every call limit of the project on this server. */
  readonly limits: readonly McpLimitRuntime[];
}

/** A call limit as the limiter sees it (calls are its tokens) and as refusals name it. */
export interface McpLimitRuntime extends LimitRule {
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly projectName: string;
  readonly serverName: string;
  /** null: every tool of the server together. */
  readonly tool: string | null;
  readonly callsPerMinute: number | null;
  readonly callQuota: number | null;
  readonly quotaPeriod: QuotaPeriod | null;
}

export const EMPTY_MCP_INDEX: McpIndex = Object.freeze({ server: () => undefined, grant: () => undefined, limits: () => [] });

const key = (...parts: string[]) => parts.join('\u0000');

/** Indexes the MCP records for the gateways this node serves (`gatewaysById`). */
export function buildMcpIndex(records: ConfigRecords, secrets: SecretBox, gatewaysById: ReadonlyMap<string, GatewayRuntime>): McpIndex {
  const mcp = records.mcp;
  if (!mcp || mcp.servers.length === 0) return EMPTY_MCP_INDEX;
  const resourceNames = new Map(records.resources.map((r) => [r.id, r.name]));
  const projectNames = new Map(records.projects.map((p) => [p.id, p.name]));
  const servers = new Map<string, McpServerRuntime>();
  const serverNames = new Map<string, string>();
  for (const s of mcp.servers) {
    const resourceName = resourceNames.get(s.resourceId) ?? '';
    serverNames.set(s.id, s.name);
    const value = s.authValueSealed === null ? null : secrets.open(s.authValueSealed);
    const authHeader =
      s.authType === 'bearer' && value !== null
        ? { name: 'authorization', value: `Bearer ${value}` }
        : s.authType === 'header' && value !== null && s.authHeaderName
          ? { name: s.authHeaderName.toLowerCase(), value }
          : null;
    servers.set(
      key(resourceName, s.name),
      Object.freeze({ id: s.id, name: s.name, resourceName, url: s.url, blocked: s.status === 'blocked', authType: s.authType, authHeader }),
    );
  }

  const limitsByScope = new Map<string, McpLimitRuntime[]>();
  const allLimits: McpLimitRuntime[] = [];
  for (const l of mcp.limits) {
    const gateway = gatewaysById.get(l.gatewayId);
    if (!gateway) continue;
    const scope = key(l.gatewayId, l.projectId, l.serverId);
    let list = limitsByScope.get(scope);
    if (!list) limitsByScope.set(scope, (list = []));
    const runtime: McpLimitRuntime = Object.freeze({
      ...mcpLimitRule(l),
      gatewayId: l.gatewayId,
      gatewayName: gateway.name,
      projectName: projectNames.get(l.projectId) ?? '',
      serverName: serverNames.get(l.serverId) ?? '',
      tool: l.tool,
      callsPerMinute: l.callsPerMinute,
      callQuota: l.callQuota,
    });
    list.push(runtime);
    allLimits.push(runtime);
  }

  const grants = new Map<string, McpGrantRuntime>();
  for (const g of mcp.grants) {
    if (!gatewaysById.has(g.gatewayId)) continue;
    const scope = key(g.gatewayId, g.projectId, g.serverId);
    const limits = Object.freeze(limitsByScope.get(scope) ?? []);
    const serverWide = Object.freeze(limits.filter((l) => l.tool === null));
    const byTool = new Map<string, readonly McpLimitRuntime[]>();
    for (const l of limits) if (l.tool !== null) byTool.set(l.tool, Object.freeze([l, ...serverWide]));
    grants.set(
      scope,
      Object.freeze({ tools: g.tools === null ? null : new Set(g.tools), limits, limitsFor: (tool: string) => byTool.get(tool) ?? serverWide }),
    );
  }

  return Object.freeze({
    server: (resourceName: string, name: string) => servers.get(key(resourceName, name)),
    grant: (gatewayId: string, projectId: string, serverId: string) => grants.get(key(gatewayId, projectId, serverId)),
    limits: () => allLimits,
  });
}
