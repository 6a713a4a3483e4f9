import { z } from 'zod';
import { budgetBody, corsOrigins, deploymentFields, deploymentName, limitValues, name, optionalText, quotaPeriod, tokens } from '../schemas.js';

/**
 * The declarative config document (`tollgate.yaml`): resources with their deployments and
 * projects, and gateways with their enabled projects and limits. Applying it makes what it names
 * match it; what it does not name is left alone unless pruning. Fields mean what they mean in the
 * admin API, and an absent optional field means its default (null, {} or false) — except
 * `upstreamApiKey`: absent leaves the stored key as it is (secrets are often managed elsewhere),
 * null removes it.
 */
export const CONFIG_VERSION = 1;

const deployment = z.strictObject({ name: deploymentName, ...deploymentFields });

const resource = z.strictObject({
  name,
  description: optionalText(500),
  deployments: z.array(deployment).default([]),
  /** Project names; a project's keys are generated when it is created and shown once. */
  projects: z.array(name).default([]),
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
  /** The projects enabled on the gateway. */
  projects: z.array(name).default([]),
  limits: z.array(limit).default([]),
});

export const configDocument = z.strictObject({
  version: z.literal(CONFIG_VERSION, { message: `must be ${CONFIG_VERSION}` }),
  resources: z.array(resource).default([]),
  gateways: z.array(gateway).default([]),
});

export type ConfigDocument = z.output<typeof configDocument>;
export type ResourceDoc = ConfigDocument['resources'][number];
export type DeploymentDoc = ResourceDoc['deployments'][number];
export type GatewayDoc = ConfigDocument['gateways'][number];
export type LimitDoc = GatewayDoc['limits'][number];
export type LimitValuesDoc = NonNullable<GatewayDoc['defaultProjectLimit']>;
