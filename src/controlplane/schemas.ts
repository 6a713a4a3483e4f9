import { MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-depth.js';
import { z } from 'zod';
import {
  DEPLOYMENT_NAME_PATTERN,
  DEPLOYMENT_NAME_RULE,
  MAX_ATTEMPTS,
  MAX_BACKENDS,
  NAME_PATTERN,
  NAME_RULE,
  PROVIDERS,
  QUOTA_PERIODS,
  RETRY_FAILURES,
  ROLES,
} from '../domain/model.js';
import { MAX_CORS_ORIGINS, parseOrigin } from '../domain/origin.js';
import { TollgateError } from '../errors.js';
import { budgetMicros, canonicalPrice, CURRENCY_PATTERN, MAX_BUDGET, MAX_PRICE_PER_MILLION } from '../accounting/pricing.js';

/** Request bodies of the admin API, validated at the edge; unknown fields are an error, not ignored. */

export const name = z.string().regex(NAME_PATTERN, `must be ${NAME_RULE}`);
export const deploymentName = z.string().regex(DEPLOYMENT_NAME_PATTERN, `must be ${DEPLOYMENT_NAME_RULE}`);
export const optionalText = (max: number) => z.string().max(max).nullable().optional();
export const tokens = z.number().int('must be a whole number').positive('must be greater than 0').max(Number.MAX_SAFE_INTEGER);

export const instanceBody = z.strictObject({ name });

export const resourceBody = z.strictObject({ name, description: optionalText(500) });
export const resourcePatch = z.strictObject({ description: optionalText(500) });

const currency = z.string().regex(CURRENCY_PATTERN, 'must be an ISO 4217 currency code in upper case, e.g. USD or EUR');
const price = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const text = canonicalPrice(v);
  if (text === null) {
    ctx.addIssue({ code: 'custom', message: `must be a price per million tokens: a decimal ≥ 0 with at most 6 decimals, at most ${MAX_PRICE_PER_MILLION}` });
    return z.NEVER;
  }
  return text;
});

/** A deployment's or backend's prices per million tokens (docs/cost.md). */
export const pricingObject = z.strictObject({
  currency,
  inputPerMillion: price,
  outputPerMillion: price,
  cachedInputPerMillion: price.optional(),
  cacheWritePerMillion: price.optional(),
});
/** On a deployment, "catalog" takes the built-in catalog's prices for its upstream model. */
export const pricingBody = z.union([z.literal('catalog'), pricingObject], {
  message: 'must be {"currency", "inputPerMillion", "outputPerMillion", …} or "catalog"',
});

/** A money budget per period on a limit. */
export const budgetBody = z.strictObject({
  amount: z.union([z.number(), z.string()]).transform((v, ctx) => {
    const micros = budgetMicros(v);
    if (micros === null) {
      ctx.addIssue({ code: 'custom', message: `must be an amount > 0 with at most 6 decimals, at most ${MAX_BUDGET}` });
      return z.NEVER;
    }
    return micros;
  }),
  currency,
  period: z.enum(QUOTA_PERIODS, { message: `must be one of ${QUOTA_PERIODS.join(', ')}` }),
}).transform((b) => ({ micros: b.amount, currency: b.currency, period: b.period }));

const httpStatus = z.number().int('must be a whole number').min(400, 'must be an HTTP error status (400-599)').max(599, 'must be an HTTP error status (400-599)');
const count = (max: number) => z.number().int('must be a whole number').min(1, 'must be at least 1').max(max, `must be at most ${max}`);

/** One upstream of a deployment's pool (docs/backends.md). */
export const backendBody = z.strictObject({
  name,
  provider: z.enum(PROVIDERS, { message: `must be one of ${PROVIDERS.join(', ')}` }).nullable().optional(),
  upstreamUrl: z.string().min(1).max(2000),
  upstreamModel: optionalText(200),
  upstreamApiKey: optionalText(4000),
  apiVersion: optionalText(50),
  priority: count(1000).optional(),
  weight: count(1000).optional(),
  pricing: pricingObject.nullable().optional(),
});

export const retryBody = z.strictObject({
  attempts: count(MAX_ATTEMPTS).optional(),
  on: z.array(z.union([httpStatus, z.enum(RETRY_FAILURES)])).max(100).optional(),
});

export const circuitBreakerBody = z.strictObject({
  failures: count(1000).optional(),
  intervalSeconds: count(86_400).optional(),
  statusCodes: z.array(httpStatus).max(200).optional(),
  tripSeconds: count(86_400).optional(),
  acceptRetryAfter: z.boolean().optional(),
});

export const deploymentFields = {
  provider: z.enum(PROVIDERS, { message: `must be one of ${PROVIDERS.join(', ')}` }),
  upstreamUrl: optionalText(2000),
  upstreamModel: optionalText(200),
  upstreamApiKey: optionalText(4000),
  apiVersion: optionalText(50),
  defaultCompletionReservation: tokens.nullable().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
  backends: z
    .array(backendBody)
    .min(1, 'must list at least 1 backend (or be null for the one upstream of upstreamUrl)')
    .max(MAX_BACKENDS, `must list at most ${MAX_BACKENDS} backends`)
    .nullable()
    .optional(),
  retry: retryBody.nullable().optional(),
  circuitBreaker: circuitBreakerBody.nullable().optional(),
  pricing: pricingBody.nullable().optional(),
};
export const deploymentBody = z.strictObject({ name: deploymentName, ...deploymentFields });
export const deploymentPatch = z.strictObject({ ...deploymentFields, provider: deploymentFields.provider.optional() });

export const projectBody = z.strictObject({ name });

export const quotaPeriod = z.enum(QUOTA_PERIODS, { message: `must be one of ${QUOTA_PERIODS.join(', ')}` });

/** A limit's token values; which combinations make a limit is the service's rule (checkLimitValues). */
export const limitValues = z.strictObject({
  tokensPerMinute: tokens.nullable().optional(),
  tokenQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
});

/** Browser origins, in the form browsers send them (normalised, duplicates dropped). */
export const corsOrigins = z
  .array(z.string().max(2000), { message: 'must be a list of origins, e.g. ["https://app.example.com"]' })
  .max(MAX_CORS_ORIGINS, `must list at most ${MAX_CORS_ORIGINS} origins`)
  .transform((list, ctx) => {
    const origins = new Set<string>();
    list.forEach((text, i) => {
      const parsed = parseOrigin(text);
      if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem, path: [i] });
      else origins.add(parsed.origin);
    });
    return [...origins];
  });

export const gatewayBody = z.strictObject({
  name,
  resource: name,
  instance: z.discriminatedUnion(
    'mode',
    [z.strictObject({ mode: z.literal('new') }), z.strictObject({ mode: z.literal('existing'), name })],
    { message: 'must be {"mode": "new"} or {"mode": "existing", "name": "<instance>"}' },
  ),
  defaultProjectLimit: limitValues.nullable().optional(),
  corsOrigins: corsOrigins.optional(),
});

/** Merge-patch: `defaultProjectLimit` fields given replace theirs (null clears one), null removes it. */
export const gatewayPatch = z.strictObject({
  logContent: z.boolean().optional(),
  defaultProjectLimit: limitValues.nullable().optional(),
  corsOrigins: corsOrigins.optional(),
});
export const limitBody = z.strictObject({
  project: name,
  deployment: deploymentName.nullable().optional(),
  tokensPerMinute: tokens.nullable().optional(),
  tokenQuota: tokens.nullable().optional(),
  quotaPeriod: quotaPeriod.nullable().optional(),
  budget: budgetBody.nullable().optional(),
});
export const limitPatch = limitValues.extend({ budget: budgetBody.nullable().optional() });

export const adminTokenBody = z.strictObject({
  name: z.string().min(1).max(100),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  resources: z.array(name).nullable().optional(),
});

const flag = z.enum(['true', 'false'], { message: 'must be true or false' }).default('false');
export const applyQuery = z.strictObject({ dryRun: flag, prune: flag, pruneUnnamed: flag });
export const gatewayDeleteQuery = z.strictObject({ disableProjects: flag });
/** `archived=true`: the deleted gateways instead of the live ones. */
export const gatewayListQuery = z.strictObject({ archived: flag });

export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().optional(),
});

/** One problem with a value, as a person reads it: the field's path and what is wrong with it. */
export interface ShapeProblem {
  path: (string | number)[];
  message: string;
  /** For unknown fields: their names (the path is the object holding them). */
  unknownKeys?: string[];
}

/** Every problem a schema finds, in words: `unknown field "x"`, `is required`, or the schema's own message. */
export function shapeProblems<T>(schema: z.ZodType<T>, value: unknown): { data: T; problems: [] } | { problems: ShapeProblem[] } {
  const result = schema.safeParse(value ?? {}, { reportInput: true });
  if (result.success) return { data: result.data, problems: [] };
  return {
    problems: result.error.issues.map((issue) => {
      let message = issue.message;
      if (issue.code === 'unrecognized_keys') message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      else if (issue.code === 'invalid_type' && issue.input === undefined) message = 'is required';
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      return issue.code === 'unrecognized_keys' ? { path, message, unknownKeys: issue.keys } : { path, message };
    }),
  };
}

/**
 * Parses with a schema; a problem becomes a 400 that names the field. With `all`, the message
 * names every problem (a config document), else the first (a form's body: one field at a time).
 */
export function parse<T>(schema: z.ZodType<T>, value: unknown, options: { all?: boolean } = {}): T {
  if (nestedDeeperThan(value)) throw new TollgateError('validation_failed', `the body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep`);
  const result = shapeProblems(schema, value);
  if ('data' in result) return result.data;
  const [first, ...rest] = result.problems.map((p) => ({ field: p.path.join('.'), text: p.path.length > 0 ? `${p.path.join('.')}: ${p.message}` : p.message }));
  const more = options.all && rest.length > 0 ? ` (and ${rest.length} more: ${rest.map((p) => p.text).join('; ')})` : '';
  throw new TollgateError('validation_failed', `${first!.text}${more}`, first!.field ? { param: first!.field } : {});
}
