import type { McpGrant, McpLimit, McpServer } from '../domain/mcp.js';
import type { McpGrantView, McpLimitView, McpServerView } from './api-types.js';

/** The MCP admin API's JSON (shapes in api-types.ts). Upstream credentials never appear. */

export const mcpServerView = (s: McpServer, resourceName: string): McpServerView => ({
  name: s.name,
  resource: resourceName,
  url: s.url,
  upstreamAuth: { type: s.authType, headerName: s.authType === 'header' ? s.authHeaderName : null, hasValue: s.authValueSealed !== null },
  description: s.description,
  status: s.status,
  path: `/mcp/${s.name}`,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

export const mcpGrantView = (g: McpGrant, server: McpServer, projectName: string): McpGrantView => ({
  server: server.name,
  project: projectName,
  tools: g.tools === null ? null : [...g.tools],
  serverStatus: server.status,
  createdAt: g.createdAt,
  updatedAt: g.updatedAt,
});

export const mcpLimitView = (l: McpLimit, projectName: string, serverName: string): McpLimitView => ({
  id: l.id,
  project: projectName,
  server: serverName,
  tool: l.tool,
  callsPerMinute: l.callsPerMinute,
  callQuota: l.callQuota,
  quotaPeriod: l.quotaPeriod,
  createdAt: l.createdAt,
  updatedAt: l.updatedAt,
});
