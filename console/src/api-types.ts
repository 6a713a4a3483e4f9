/**
 * The JSON the admin API answers: declared once, in src/controlplane/api-types.ts, and imported
 * here as types only (erased from the bundle: nothing of the server is shipped). The console's
 * names for them, and the option lists its forms offer, are below.
 */
import type * as Api from '../../src/controlplane/api-types.js';

export type {
  CostView,
  CreatedProject,
  LimitValues,
  List,
  LogPage,
  Outcome,
  QuotaPeriod,
  RegeneratedKey,
  RequestCounts,
  Role,
  UsageInterval,
  UsageOverview,
  UsageReport,
  WhoAmI,
} from '../../src/controlplane/api-types.js';

export type Provider = Api.ProviderName;
export type Instance = Api.InstanceView;
export type Resource = Api.ResourceView;
export type Deployment = Api.DeploymentView;
export type Project = Api.ProjectView;
export type Gateway = Api.GatewayView;
export type ProjectLimit = Api.ProjectLimitView;
export type GatewayProject = Api.GatewayProjectView;
export type Limit = Api.LimitView;
export type LimitStatus = Api.LimitStatusView;
export type UsagePoint = Api.UsagePointView;
export type UsageSeries = Api.UsageSeriesView;
export type LogEntry = Api.LogView;
export type GatewayUsage = Api.GatewayUsageSummary;
export type ArchivedGateway = Api.ArchivedGatewayView;

/** Every member of a union, listed: fails to compile when the API adds one the list lacks. */
const every =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })): readonly T[] =>
    list;

export const PROVIDERS = every<Provider>()(['openai', 'openai-compatible', 'azure-openai', 'anthropic', 'simulated']);
export const QUOTA_PERIODS = every<Api.QuotaPeriod>()(['hourly', 'daily', 'weekly', 'monthly', 'yearly']);
export const OUTCOMES = every<Api.Outcome>()(['ok', 'rate_limited', 'quota_exceeded', 'rejected', 'upstream_error', 'client_aborted', 'never_fits']);

export type Backend = Api.BackendView;
export type RetryPolicy = NonNullable<Api.DeploymentView['retry']>;
export type CircuitBreakerPolicy = NonNullable<Api.DeploymentView['circuitBreaker']>;

export type BackendStatusView = Api.BackendStatusView;
export type DeploymentBackendsView = Api.DeploymentBackendsView;

export type GatewayNode = Api.NodeView;
export type AdminToken = Api.AdminTokenView;
export type CreatedAdminToken = Api.CreatedAdminToken;
export type AuditEntry = Api.AuditView;
export type Page<T> = Api.Page<T>;
export const ROLES = every<Api.Role>()(['owner', 'gateway-admin', 'project-admin', 'viewer']);
export type Agent = Api.AgentView;
export type AgentStatus = Api.AgentStatus;
export type AgentProtocol = Api.AgentProtocolName;
export type AgentLogPage = Api.AgentLogPage;
export type McpServer = Api.McpServerView;
export type McpAuthType = Api.McpAuthType;
export type McpGrant = Api.McpGrantView;
export type McpLimit = Api.McpLimitView;
export type McpLimitStatus = Api.McpLimitStatusView;
export type McpLogEntry = Api.McpLogView;
export type McpLogPage = Api.McpLogPage;
export const MCP_AUTH_TYPES = every<McpAuthType>()(['none', 'bearer', 'header']);
