import type { QuotaPeriod } from './model.js';

/** MCP servers, grants and call limits (docs/mcp.md): records as the control plane stores them. */

export const MCP_AUTH_TYPES = ['none', 'bearer', 'header'] as const;
export type McpAuthType = (typeof MCP_AUTH_TYPES)[number];
export type McpServerStatus = 'active' | 'blocked';

/** An upstream MCP endpoint (Streamable HTTP) registered on a resource. */
export interface McpServer {
  id: string;
  resourceId: string;
  name: string;
  url: string;
  /** How the gateway authenticates to the upstream; the client's own credentials never go there. */
  authType: McpAuthType;
  /** For `header`: the header that carries the value (for `bearer`: Authorization). */
  authHeaderName: string | null;
  /** AES-256-GCM sealed credential; never returned by the API. */
  authValueSealed: string | null;
  description: string | null;
  status: McpServerStatus;
  createdAt: string;
  updatedAt: string;
}

/** A project's access to a server on a gateway: every tool (null) or only those listed. */
export interface McpGrant {
  id: string;
  gatewayId: string;
  serverId: string;
  projectId: string;
  tools: string[] | null;
  createdAt: string;
  updatedAt: string;
}

/** Calls per minute and/or a call quota of a project on one server (one tool, or all of them). */
export interface McpLimit {
  id: string;
  gatewayId: string;
  projectId: string;
  serverId: string;
  /** null: every tool of the server together. */
  tool: string | null;
  callsPerMinute: number | null;
  callQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  createdAt: string;
  updatedAt: string;
}

/** MCP limits' ids in the limiter: distinct from token limits' (`lim_`, `dflt_`). */
export const MCP_LIMIT_ID_PREFIX = 'mcpl';

/**
 * The limiter's tag of every MCP limit of one project on one gateway: the limits one call reserves
 * against share it (one Redis Cluster slot), and never mix with the project's token limits' tag.
 */
export const mcpLimitTag = (gatewayId: string, projectId: string): string => `mcp/${gatewayId}/${projectId}`;

/** A call limit as the limiter knows it: calls are its "tokens", one per tools/call. */
export const mcpLimitRule = (l: McpLimit) => ({
  id: l.id,
  tag: mcpLimitTag(l.gatewayId, l.projectId),
  tokensPerMinute: l.callsPerMinute,
  tokenQuota: l.callQuota,
  quotaPeriod: l.quotaPeriod,
});

/** Tool names as MCP allows them (2025-06-18: 1-128 characters, letters, digits, `_`, `-`, `.`; some servers use `/`). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_./-]{1,128}$/;
export const TOOL_NAME_RULE = '1 to 128 letters, digits, "_", "-", "." or "/"';
