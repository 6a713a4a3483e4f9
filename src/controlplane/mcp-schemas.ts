import { z } from 'zod';
import { MCP_AUTH_TYPES, TOOL_NAME_PATTERN, TOOL_NAME_RULE } from '../domain/mcp.js';
import { name, optionalText, quotaPeriod, tokens } from './schemas.js';

/** Request bodies of the MCP admin routes (docs/mcp.md); unknown fields are an error. */

export const toolName = z.string().regex(TOOL_NAME_PATTERN, `must be ${TOOL_NAME_RULE}`);

export const upstreamAuthBody = z.strictObject({
  type: z.enum(MCP_AUTH_TYPES, { message: `must be one of ${MCP_AUTH_TYPES.join(', ')}` }),
  headerName: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')
    .nullable()
    .optional(),
  value: z.string().min(1).max(4000).nullable().optional(),
});

export const mcpServerBody = z.strictObject({
  name,
  url: z.string().min(1).max(2000),
  upstreamAuth: upstreamAuthBody.optional(),
  description: optionalText(500),
});
export const mcpServerPatch = z.strictObject({
  url: z.string().min(1).max(2000).optional(),
  upstreamAuth: upstreamAuthBody.optional(),
  description: optionalText(500),
});

export const mcpGrantBody = z.strictObject({
  tools: z.array(toolName).max(1000, 'must list at most 1000 tools').nullable(),
});

const calls = tokens;
export const mcpLimitBody = z.strictObject({
  project: name,
  server: name,
  tool: toolName.nullable().optional(),
  callsPerMinute: calls.nullable().optional(),
  callQuota: calls.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
});
export const mcpLimitPatch = z.strictObject({
  callsPerMinute: calls.nullable().optional(),
  callQuota: calls.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
});
