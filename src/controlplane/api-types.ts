import type { AuditEntry, CircuitBreakerPolicy, GatewayStatus, KeySlot, LimitValues, Pricing, ProjectGatewayStatus, ProviderName, QuotaPeriod, RetryPolicy, Role } from '../domain/model.js';

/**
 * The JSON the admin API answers, declared once (a public contract: extend, don't rename).
 * The views build these shapes (views.ts, usage-routes.ts, admin/*.ts) and the compiler holds
 * them to it; the console and the CLI import them as types. Types only, importing nothing but
 * the domain's types: the console's bundle takes nothing from the server. Secrets never appear.
 */

export type { AuditEntry, KeySlot, LimitValues, ProviderName, QuotaPeriod, Role };

/** How a ledger row ended (src/usage/ledger.ts OUTCOMES; usage-routes.ts checks the two agree). */
export type Outcome = 'ok' | 'rate_limited' | 'quota_exceeded' | 'rejected' | 'upstream_error' | 'client_aborted' | 'never_fits';

export interface List<T> {
  items: T[];
}

/** A page of a newest-first list; `nextCursor` is null on the last page. */
export interface Page<T> extends List<T> {
  nextCursor: string | null;
}

export interface WhoAmI {
  name: string;
  role: Role;
  /** Resources a project-admin is limited to; null: all. */
  resources: readonly string[] | null;
}

export interface InstanceView {
  name: string;
  gateway: string | null;
  /** Whether a new gateway may use it (it backs none). */
  eligible: boolean;
  createdAt: string;
}

/** A gateway node that reported in. */
export interface NodeView {
  id: string;
  /** The instance it serves; `*` for a node serving every instance. */
  instance: string;
  address: string;
  version: string;
  configVersion: number;
  /** Whether it serves the latest configuration. */
  configCurrent: boolean;
  status: 'live' | 'stale';
  startedAt: string;
  heartbeatAt: string;
}

export interface ResourceView {
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentView {
  name: string;
  resource: string;
  provider: ProviderName;
  upstreamUrl: string | null;
  upstreamModel: string | null;
  apiVersion: string | null;
  /** The key itself is write-only. */
  hasUpstreamApiKey: boolean;
  defaultCompletionReservation: number | null;
  options: Record<string, unknown>;
  /** Only on a deployment with backends (docs/backends.md), with its retry and breaker rules as set. */
  backends?: BackendView[];
  retry?: RetryPolicy | null;
  circuitBreaker?: CircuitBreakerPolicy | null;
  /** Prices per million tokens (docs/cost.md); absent: none. */
  pricing?: Pricing;
  createdAt: string;
  updatedAt: string;
}

export interface BackendView {
  name: string;
  provider: ProviderName | null;
  /** Credentials redacted. */
  upstreamUrl: string;
  upstreamModel: string | null;
  /** The key itself is write-only. */
  hasUpstreamApiKey: boolean;
  apiVersion: string | null;
  priority: number;
  weight: number;
  /** Its own prices; absent: the deployment's. */
  pricing?: Pricing;
}

/** One backend of a deployment as this node sees it (GET …/deployments/{d}/backends). */
export interface BackendStatusView {
  name: string;
  priority: number;
  weight: number;
  state: 'closed' | 'open' | 'half-open';
  /** While open or half-open: the end of the trip (ISO 8601); null when closed. */
  openUntil: string | null;
  /** Counted failures within the breaker's interval. */
  recentFailures: number;
  /** Calls this node sent to the backend since it started. */
  requests: number;
  /** Its fraction (0–1) of the calls this node sent to the deployment's backends; 0 before any. */
  share: number;
}

export interface DeploymentBackendsView {
  items: BackendStatusView[];
}

export interface ProjectView {
  name: string;
  resource: string;
  gatewayStatus: ProjectGatewayStatus;
  keyHints: { primary: string; secondary: string };
  createdAt: string;
}

/** A created project: its keys are shown this once. */
export interface CreatedProject extends ProjectView {
  keys: { primary: string; secondary: string };
}

export interface RegeneratedKey {
  name: string;
  resource: string;
  slot: KeySlot;
  key: string;
  hint: string;
}

export interface GatewayView {
  name: string;
  resource: string;
  instance: string;
  status: GatewayStatus;
  logContent: boolean;
  /** Caps every enabled project without a project-wide limit of its own; null: none. */
  defaultProjectLimit: LimitValues | null;
  /** Browser origins allowed to call the data plane (CORS); empty: none. */
  corsOrigins: string[];
  createdAt: string;
}

/**
 * A deleted gateway (`GET /admin/v1/gateways?archived=true`): its usage and logs stay at
 * `/admin/v1/archived-gateways/{id}/usage` and `…/logs`; a new gateway of its name starts empty.
 */
export interface ArchivedGatewayView {
  id: string;
  name: string;
  resource: string;
  instance: string;
  createdAt: string;
  deletedAt: string;
}

/**
 * The project-wide limit a project runs under on a gateway: its own (`source: "project"`, `id` the
 * limit's), the gateway's default (`"gateway-default"`, `id` = `default:<project>`, which
 * `.../limits/{id}/status` accepts), or null: none.
 */
export interface ProjectLimitView extends LimitValues {
  source: 'project' | 'gateway-default';
  id: string;
}

export interface GatewayProjectView {
  name: string;
  gatewayStatus: ProjectGatewayStatus;
  limit: ProjectLimitView | null;
}

export interface LimitView extends LimitValues {
  id: string;
  project: string;
  deployment: string | null;
  /** A money budget per period; null: none. */
  budget: BudgetView | null;
  createdAt: string;
  updatedAt: string;
  /**
   * On the answer to a create or update only: what the admin should know of the values, e.g. a
   * limit below the completion reserved for requests without max_tokens (they are then capped),
   * or deployments a budget covers that have no prices (their requests are refused).
   */
  warnings?: string[];
}

export interface BudgetView {
  /** Decimal string of currency units, exact (e.g. "25.5"). */
  amount: string;
  currency: string;
  period: QuotaPeriod;
}

/** An amount of money: exact micro-units (millionths of the currency) and the same as a decimal string. */
export interface Money {
  micros: number;
  amount: string;
}

/** Cost by ISO 4217 currency code; {} when nothing was priced. */
export type CostView = Record<string, Money>;

/** A limit's live standing (`.../limits/{id}/status`). */
export interface LimitStatusView {
  id: string;
  project: string;
  deployment: string | null;
  source: 'project' | 'gateway-default';
  tpm: { limit: number; used: number; remaining: number; resetAt: string } | null;
  quota: { limit: number; used: number; remaining: number; period: QuotaPeriod; periodStart: string; resetAt: string } | null;
  /** The money budget: spent (settled, plus worst cases of requests in flight) and remaining. */
  budget: { currency: string; limit: Money; spent: Money; remaining: Money; period: QuotaPeriod; periodStart: string; resetAt: string } | null;
}

export interface AdminTokenView {
  id: string;
  name: string;
  role: Role;
  resources: string[] | null;
  hint: string;
  createdAt: string;
}

/** A created admin token: the secret is shown this once. */
export interface CreatedAdminToken extends AdminTokenView {
  token: string;
}

/** An audit entry: `detail` holds what the change set, `previous` what it replaced (null: nothing, or not recorded). */
export type AuditView = AuditEntry & { previous: Record<string, unknown> | null };

export type RequestCounts = Record<Outcome, number> & { total: number };
export interface TokenCounts {
  prompt: number;
  completion: number;
  total: number;
}

export interface UsagePointView {
  t: string;
  requests: RequestCounts;
  tokens: TokenCounts;
  avgLatencyMs: number;
  cost: CostView;
}

export type UsageInterval = 'minute' | 'hour' | 'day';
export type UsageGroupBy = 'project' | 'deployment';

/** One series when not grouped; one per project or deployment (null: refused before one was known). */
export interface UsageSeriesView {
  group?: string | null;
  project?: string | null;
  deployment?: string | null;
  points: UsagePointView[];
}

export interface UsageReport {
  gateway: string;
  from: string;
  to: string;
  interval: UsageInterval;
  groupBy: UsageGroupBy | null;
  series: UsageSeriesView[];
  totals: { requests: RequestCounts; tokens: TokenCounts; cost: CostView };
}

/** One gateway's use in a range (the overview across gateways, `GET /admin/v1/usage`). */
export interface GatewayUsageSummary {
  name: string;
  resource: string;
  status: GatewayStatus;
  /** Projects of the gateway's resource, and how many of them are enabled on the gateway. */
  projects: number;
  enabledProjects: number;
  requests: RequestCounts;
  tokens: TokenCounts;
  /** Exact cost per currency of the priced requests. */
  cost: CostView;
  /** Requests refused by a limit: rate_limited + quota_exceeded + never_fits. */
  refusals: number;
}

export interface UsageOverview {
  from: string;
  to: string;
  gateways: GatewayUsageSummary[];
}

export interface LogView {
  id: string;
  time: string;
  startedAt: string;
  requestId: string;
  project: string;
  deployment: string | null;
  operation: string;
  stream: boolean;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  upstreamStatus: number | null;
  tokens: TokenCounts;
  latencyMs: number;
  upstreamMs: number | null;
  overheadMs: number | null;
  content: unknown;
  /** For a deployment with backends: the backend that answered (the last tried) and the upstream calls made. */
  backend: string | null;
  attempts: number | null;
  /** Tokens reserved against the limits (null: none applied). */
  reservedTokens: number | null;
  /** The completion maximum the gateway set upstream (the request named none; its limits hold less than the default). */
  maxTokensCapped: number | null;
  /** The limit that refused the request, when one did. */
  refusal: LogRefusalView | null;
  /** The error message the client got; null when it got the upstream's answer. */
  message: string | null;
  /** The request's exact cost; null when its deployment has no prices. */
  cost: (Money & { currency: string }) | null;
}

/** Which limit refused a request: `scope` is project-wide, per-deployment, or the gateway's default project limit. */
export interface LogRefusalView {
  limitId: string;
  scope: 'project-wide' | 'per-deployment' | 'default';
  kind: 'tpm' | 'quota' | 'budget';
  /** The limit's value (tokens per minute, or the quota; a budget: micro-units). */
  limit: number;
  /** Tokens the limit had left when it refused (a budget: micro-units; null: not known). */
  remaining: number | null;
  /** Whether no retry can help (the reservation is larger than the whole limit). */
  neverFits: boolean;
}

export type LogPage = Page<LogView>;
export type * from './agent-api-types.js';

// MCP servers through the gateway (docs/mcp.md)

export type McpAuthType = 'none' | 'bearer' | 'header';

/** An MCP server registered on a resource; its upstream credential is write-only. */
export interface McpServerView {
  name: string;
  resource: string;
  url: string;
  upstreamAuth: { type: McpAuthType; headerName: string | null; hasValue: boolean };
  description: string | null;
  status: 'active' | 'blocked';
  /** Where MCP clients connect on the gateway: `/mcp/{name}`. */
  path: string;
  createdAt: string;
  updatedAt: string;
}

/** A project's access to a server on a gateway; `tools` null: every tool. */
export interface McpGrantView {
  server: string;
  project: string;
  tools: string[] | null;
  /** The server's status, for convenience. */
  serverStatus: 'active' | 'blocked';
  createdAt: string;
  updatedAt: string;
}

export interface McpLimitView {
  id: string;
  project: string;
  server: string;
  /** null: every tool of the server together. */
  tool: string | null;
  callsPerMinute: number | null;
  callQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  createdAt: string;
  updatedAt: string;
}

/** Where a call limit stands now (from the limiter: every node's calls). */
export interface McpLimitStatusView {
  id: string;
  project: string;
  server: string;
  tool: string | null;
  perMinute: { limit: number; used: number; remaining: number; resetAt: string } | null;
  quota: { limit: number; used: number; remaining: number; period: QuotaPeriod; periodStart: string; resetAt: string } | null;
}

/** One JSON-RPC message a client sent through /mcp/{server}. */
export interface McpLogView {
  id: string;
  time: string;
  startedAt: string;
  requestId: string;
  project: string;
  server: string;
  /** `tools/call`, `tools/list`, `initialize`, `notifications/…`; `response` for a client's answer to the server. */
  method: string;
  tool: string | null;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  latencyMs: number;
  upstreamMs: number | null;
  session: string | null;
}
export type McpLogPage = Page<McpLogView>;

export type McpUsageGroupBy = 'project' | 'server' | 'tool';
/** MCP calls by outcome (a call is one unit: it can never be too large for a limit). */
export type McpCallCounts = Omit<RequestCounts, 'never_fits'>;
export interface McpUsagePointView {
  t: string;
  calls: McpCallCounts;
  avgLatencyMs: number;
}
export interface McpUsageSeriesView {
  group?: string | null;
  points: McpUsagePointView[];
}
/** `GET …/usage?kind=mcp`: MCP messages per bucket (no tokens). */
export interface McpUsageReport {
  kind: 'mcp';
  gateway: string;
  from: string;
  to: string;
  interval: UsageInterval;
  groupBy: McpUsageGroupBy | null;
  series: McpUsageSeriesView[];
  totals: { calls: McpCallCounts };
}
