/** The domain model (see DESIGN.md): records as the control plane stores and returns them. */

/**
 * Prices of a deployment (or of one backend of its pool), as configured: per million tokens, in
 * one currency, as exact decimal strings (docs/cost.md). Cached input and cache writes default to
 * the input price.
 */
export interface Pricing {
  /** ISO 4217 code, upper case (USD, EUR…). */
  currency: string;
  inputPerMillion: string;
  outputPerMillion: string;
  cachedInputPerMillion?: string;
  cacheWritePerMillion?: string;
  /** Where the prices came from when taken from the built-in catalog (`catalog <model> <asOf>`). */
  source?: string;
}

// 'anthropic' joins when its provider is built (DESIGN.md lists it).
export const PROVIDERS = ['openai', 'openai-compatible', 'azure-openai', 'anthropic', 'simulated'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const ROLES = ['owner', 'gateway-admin', 'project-admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const QUOTA_PERIODS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

export type GatewayStatus = 'provisioning' | 'enabled';
export type ProjectGatewayStatus = 'enabled' | 'disabled';
export type KeySlot = 'primary' | 'secondary';

export interface Instance {
  id: string;
  name: string;
  createdAt: string;
}

export interface Resource {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Deployment {
  id: string;
  resourceId: string;
  name: string;
  provider: ProviderName;
  /** For display: when the URL carries credentials, they are redacted here and the URL is sealed below. */
  upstreamUrl: string | null;
  /** The URL itself, sealed, when it carries credentials (a user, a password, a query string); else null. */
  upstreamUrlSealed: string | null;
  upstreamModel: string | null;
  /** AES-256-GCM sealed upstream credential; never leaves the process in clear except upstream. */
  upstreamApiKeySealed: string | null;
  apiVersion: string | null;
  /** Tokens reserved for the completion when a request names no max_tokens. */
  defaultCompletionReservation: number | null;
  /** Provider-specific settings (e.g. the simulated model's latency), validated by the provider. */
  options: Record<string, unknown>;
  /** The deployment's upstreams when it has several (see docs/backends.md); absent: its one upstream above. */
  backends?: Backend[] | null;
  retry?: RetryPolicy | null;
  circuitBreaker?: CircuitBreakerPolicy | null;
  /** Prices per million tokens (docs/cost.md); absent: none (its use is not priced). */
  pricing?: Pricing | null;
  createdAt: string;
  updatedAt: string;
}

/** At most this many backends per deployment. */
export const MAX_BACKENDS = 30;
/** retry.attempts is at most this, and defaults to the number of backends up to it. */
export const MAX_ATTEMPTS = 5;

/** One upstream of a deployment's pool; its URL and key are protected as a deployment's are. */
export interface Backend {
  name: string;
  /** null: the deployment's provider. */
  provider: ProviderName | null;
  /** For display: credentials redacted when the URL carries some (then sealed below). */
  upstreamUrl: string;
  upstreamUrlSealed: string | null;
  /** null: the deployment's upstreamModel (or name). */
  upstreamModel: string | null;
  upstreamApiKeySealed: string | null;
  /** null: the deployment's apiVersion. */
  apiVersion: string | null;
  /** 1 is the highest; lower priorities take traffic only when every higher backend is tripped. */
  priority: number;
  weight: number;
  /** This backend's prices; null: the deployment's. */
  pricing?: Pricing | null;
}

/** A transport failure a request may be retried on, besides the statuses. */
export const RETRY_FAILURES = ['unreachable', 'timeout'] as const;
export type RetryFailure = (typeof RETRY_FAILURES)[number];
export type RetryCondition = number | RetryFailure;

export interface RetryPolicy {
  attempts?: number;
  on?: RetryCondition[];
}

export interface CircuitBreakerPolicy {
  failures?: number;
  intervalSeconds?: number;
  statusCodes?: number[];
  tripSeconds?: number;
  acceptRetryAfter?: boolean;
}

export interface ApiKeyHash {
  hash: string;
  /** First characters of the key, so people can tell keys apart without the key. */
  hint: string;
}

export interface Project {
  id: string;
  resourceId: string;
  name: string;
  gatewayStatus: ProjectGatewayStatus;
  primaryKey: ApiKeyHash;
  secondaryKey: ApiKeyHash;
  createdAt: string;
}

/** A deleted gateway: its history stays in the ledger under its id (docs/usage.md). */
export interface ArchivedGateway {
  id: string;
  name: string;
  resourceName: string;
  instanceName: string;
  createdAt: string;
  deletedAt: string;
}

export interface Gateway {
  id: string;
  name: string;
  resourceId: string;
  instanceId: string;
  status: GatewayStatus;
  /** Whether the request ledger keeps prompt and completion content for this gateway. */
  logContent: boolean;
  /** The limit of every enabled project without a project-wide limit of its own; null: none. */
  defaultProjectLimit: LimitValues | null;
  /** Browser origins (`scheme://host[:port]`) allowed to call the data plane; empty: none (CORS off). */
  corsOrigins: string[];
  createdAt: string;
}

/** A limit's token values: at least one of the two, and a quota always with its period. */
export interface LimitValues {
  tokensPerMinute: number | null;
  tokenQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
}

export interface Limit {
  id: string;
  gatewayId: string;
  projectId: string;
  /** null: the limit caps the project's use of all deployments together. */
  deploymentId: string | null;
  tokensPerMinute: number | null;
  tokenQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  /** A money budget per period (docs/cost.md); absent or null: none. */
  budget?: Budget | null;
  createdAt: string;
  updatedAt: string;
}

/** A money budget: at most `micros` millionths of `currency` per `period`. */
export interface Budget {
  micros: number;
  currency: string;
  period: QuotaPeriod;
}

export interface AdminToken {
  id: string;
  name: string;
  role: Role;
  /** Resource names a project-admin may manage; null means all. */
  resources: string[] | null;
  hash: string;
  hint: string;
  createdAt: string;
}

/** A running gateway process, as it last reported itself. */
export interface NodeRecord {
  id: string;
  /** The instance it serves; null for an embedded node (`tollgate start`) serving all of them. */
  instance: string | null;
  address: string;
  version: string;
  configVersion: number;
  startedAt: string;
  heartbeatAt: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown> | null;
  /** What the change replaced (old values of the fields in `detail`); null for creations and older entries. */
  previous?: Record<string, unknown> | null;
}

/** Names of resources, projects, gateways and instances: DNS-label-like. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Deployment names may also hold '.' and '_', as model names do (gpt-4.1). */
export const DEPLOYMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const NAME_RULE = 'lowercase letters, digits and "-", 1 to 63 characters, starting with a letter or digit';
export const DEPLOYMENT_NAME_RULE = 'lowercase letters, digits, "-", "." and "_", 1 to 63 characters, starting with a letter or digit';
