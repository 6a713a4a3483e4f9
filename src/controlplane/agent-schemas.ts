import { z } from 'zod';
import { AGENT_PROTOCOLS } from '../agents/agent-model.js';
import { QUOTA_PERIODS } from '../domain/model.js';
import { name, optionalText, tokens } from './schemas.js';

/** Request bodies of the agent routes (docs/agents.md); unknown fields are an error. */

const httpUrl = z
  .string()
  .max(2000)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an absolute http:// or https:// URL');
/** A card's URL: absolute, or a path under the agent's URL (`/.well-known/agent-card.json`). */
const cardUrl = z.union([httpUrl, z.string().regex(/^\/[^\s]{0,1999}$/, 'must be an absolute URL or a path starting with /')]);
const protocol = z.enum(AGENT_PROTOCOLS, { message: `must be one of ${AGENT_PROTOCOLS.join(', ')}` });
const quotaPeriod = z.enum(QUOTA_PERIODS, { message: `must be one of ${QUOTA_PERIODS.join(', ')}` });

export const agentBody = z.strictObject({
  name,
  project: name,
  url: httpUrl,
  protocol: protocol.default('http'),
  agentCardUrl: cardUrl.nullable().optional(),
  otelAgentId: optionalText(200),
  adminPortalUrl: httpUrl.nullable().optional(),
  description: optionalText(1000),
});

export const agentPatch = z.strictObject({
  url: httpUrl.optional(),
  protocol: protocol.optional(),
  agentCardUrl: cardUrl.nullable().optional(),
  otelAgentId: optionalText(200),
  adminPortalUrl: httpUrl.nullable().optional(),
  description: optionalText(1000),
});

const agentLimitValues = {
  requestsPerMinute: tokens.nullable().optional(),
  requestQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
};
export const agentLimitBody = z.strictObject({ agent: name, project: name, ...agentLimitValues });
export const agentLimitPatch = z.strictObject(agentLimitValues);
