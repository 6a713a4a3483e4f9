import { z } from 'zod';
import { agentDoc, agentLimitDoc } from './agent-doc.js';
import { gatewayMcpFields, resourceMcpFields } from './mcp-config.js';
import { budgetBody, corsOrigins, deploymentFields, deploymentName, limitValues, name, optionalText, quotaPeriod, tokens } from '../schemas.js';

/**
 * The declarative config document (`tollgate.yaml`): resources with their deployments and
 * projects, and gateways with their enabled projects and limits. Applying it makes what it names
 * match it. A gateway entry's `projects` and `limits`, when given, are the whole truth for that
 * gateway (others are disabled / deleted); a resource's unlisted deployments and projects are
 * deleted only when pruning, and only for the lists the entry gives (docs/config-file.md). A list
 * left out is left alone: that is why these lists are optional, not defaulted. Fields mean what they mean in the
 * admin API, and an absent optional field means its default (null, {} or false) — except
 * `upstreamApiKey`: absent leaves the stored key as it is (secrets are often managed elsewhere),
 * null removes it.
 */
export const CONFIG_VERSION = 1;

const deployment = z.strictObject({ name: deploymentName, ...deploymentFields });

const resource = z.strictObject({
  name,
  description: optionalText(500),
  deployments: z.array(deployment).optional(),
  /** Project names; a project's keys are generated when it is created and shown once. */
  projects: z.array(name).optional(),
  /** MCP servers of the resource (docs/mcp.md); absent: none. */
  ...resourceMcpFields,
});

const limit = z.strictObject({
  project: name,
  /** Absent or null: the project's use of all deployments together. */
  deployment: deploymentName.nullable().optional(),
  tokensPerMinute: tokens.nullable().optional(),
  tokenQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
  /** A money budget per period: {amount, currency, period} (docs/cost.md). */
  budget: budgetBody.nullable().optional(),
});

const gateway = z.strictObject({
  name,
  resource: name,
  /** The instance serving it; absent: a new one named after the gateway (fixed once created). */
  instance: name.optional(),
  logContent: z.boolean().default(false),
  /** The limit of every enabled project without a project-wide limit of its own; absent: none. */
  defaultProjectLimit: limitValues.nullable().optional(),
  /** Browser origins allowed to call the data plane with the gateway's keys (CORS); absent: none. */
  corsOrigins: corsOrigins.optional(),
  /** The projects enabled on the gateway: exactly these (others of the resource are disabled); absent: left as they are. */
  projects: z.array(name).optional(),
  /** The gateway's limits: exactly these (others are deleted); absent: left as they are. */
  limits: z.array(limit).optional(),
  /** Custom agents (docs/agents.md); absent: the gateway's agents are left as they are. */
  agents: z.array(agentDoc).optional(),
  agentLimits: z.array(agentLimitDoc).optional(),
  /** MCP grants (with tool allow-lists) and call limits (docs/mcp.md); absent: none. */
  ...gatewayMcpFields,
});

export const configDocument = z.strictObject({
  version: z.literal(CONFIG_VERSION, { message: `must be ${CONFIG_VERSION}` }),
  resources: z.array(resource).optional(),
  gateways: z.array(gateway).optional(),
});

export type ConfigDocument = z.output<typeof configDocument>;
export type ResourceDoc = NonNullable<ConfigDocument['resources']>[number];
export type DeploymentDoc = NonNullable<ResourceDoc['deployments']>[number];
export type GatewayDoc = NonNullable<ConfigDocument['gateways']>[number];
export type LimitDoc = NonNullable<GatewayDoc['limits']>[number];
export type LimitValuesDoc = NonNullable<GatewayDoc['defaultProjectLimit']>;
