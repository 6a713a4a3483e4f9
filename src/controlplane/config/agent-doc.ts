import { z } from 'zod';
import { AGENT_PROTOCOLS } from '../../agents/agent-model.js';
import { agentBody } from '../agent-schemas.js';
import { name, quotaPeriod, tokens } from '../schemas.js';

/** A gateway's agents in the config document (docs/agents.md): as registered, plus block and grants. */
export const agentDoc = z.strictObject({
  ...agentBody.shape,
  protocol: z.enum(AGENT_PROTOCOLS).default('http'),
  blocked: z.boolean().default(false),
  /** Other projects granted its use. */
  projects: z.array(name).default([]),
});

export const agentLimitDoc = z.strictObject({
  agent: name,
  project: name,
  requestsPerMinute: tokens.nullable().optional(),
  requestQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
});

export type AgentDoc = z.output<typeof agentDoc>;
export type AgentLimitDoc = z.output<typeof agentLimitDoc>;
