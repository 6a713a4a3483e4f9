/**
 * The JSON the admin API answers (src/controlplane/views.ts and usage-routes.ts). The console
 * depends on the public API only, so these are declared here rather than imported from the server.
 */

export type Role = 'owner' | 'gateway-admin' | 'project-admin' | 'viewer';
export type Provider = 'openai' | 'openai-compatible' | 'azure-openai' | 'anthropic' | 'simulated';
export const PROVIDERS: readonly Provider[] = ['openai', 'openai-compatible', 'azure-openai', 'anthropic', 'simulated'];
export type QuotaPeriod = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
export const QUOTA_PERIODS: readonly QuotaPeriod[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
export type Outcome = 'ok' | 'rate_limited' | 'quota_exceeded' | 'rejected' | 'upstream_error' | 'client_aborted';
export const OUTCOMES: readonly Outcome[] = ['ok', 'rate_limited', 'quota_exceeded', 'rejected', 'upstream_error', 'client_aborted'];

export interface List<T> {
  items: T[];
}

export interface WhoAmI {
  name: string;
  role: Role;
  /** Resources a project-admin is limited to; null: all. */
  resources: string[] | null;
}

export interface Instance {
  name: string;
  gateway: string | null;
  eligible: boolean;
  createdAt: string;
}

export interface Resource {
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Deployment {
  name: string;
  resource: string;
  provider: Provider;
  upstreamUrl: string | null;
  upstreamModel: string | null;
  apiVersion: string | null;
  hasUpstreamApiKey: boolean;
  defaultCompletionReservation: number | null;
  options: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface Project {
  name: string;
  resource: string;
  gatewayStatus: 'enabled' | 'disabled';
  keyHints: { primary: string; secondary: string };
  createdAt: string;
}

export interface CreatedProject extends Project {
  keys: { primary: string; secondary: string };
}

export interface RegeneratedKey {
  name: string;
  resource: string;
  slot: 'primary' | 'secondary';
  key: string;
  hint: string;
}

/** A limit's token values: at least one of the two, a quota always with its period. */
export interface LimitValues {
  tokensPerMinute: number | null;
  tokenQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
}

export interface Gateway {
  name: string;
  resource: string;
  instance: string;
  status: 'provisioning' | 'enabled';
  logContent: boolean;
  /** Caps every enabled project without a project-wide limit of its own; null: none. */
  defaultProjectLimit: LimitValues | null;
  /** Browser origins allowed to call the data plane (CORS); empty: none. */
  corsOrigins: string[];
  createdAt: string;
}

/** The project-wide limit a project runs under: its own, or the gateway's default (id `default:<project>`). */
export interface ProjectLimit extends LimitValues {
  source: 'project' | 'gateway-default';
  id: string;
}

export interface GatewayProject {
  name: string;
  gatewayStatus: 'enabled' | 'disabled';
  limit: ProjectLimit | null;
}

export interface Limit {
  id: string;
  project: string;
  deployment: string | null;
  tokensPerMinute: number | null;
  tokenQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  createdAt: string;
  updatedAt: string;
}

export interface LimitStatus {
  id: string;
  project: string;
  deployment: string | null;
  source: 'project' | 'gateway-default';
  tpm: { limit: number; used: number; remaining: number; resetAt: string } | null;
  quota: { limit: number; used: number; remaining: number; period: QuotaPeriod; periodStart: string; resetAt: string } | null;
}

export type RequestCounts = Record<Outcome, number> & { total: number };

export interface UsagePoint {
  t: string;
  requests: RequestCounts;
  tokens: { prompt: number; completion: number; total: number };
  avgLatencyMs: number;
}

export interface UsageSeries {
  /** The project or deployment name when grouped (null: none, e.g. a request naming no deployment). */
  group?: string | null;
  project?: string | null;
  deployment?: string | null;
  points: UsagePoint[];
}

export type UsageInterval = 'minute' | 'hour' | 'day';

export interface UsageReport {
  gateway: string;
  from: string;
  to: string;
  interval: UsageInterval;
  groupBy: 'project' | 'deployment' | null;
  series: UsageSeries[];
  totals: { requests: RequestCounts; tokens: { prompt: number; completion: number; total: number } };
}

export interface LogEntry {
  id: string;
  time: string;
  requestId: string;
  project: string;
  deployment: string | null;
  operation: string;
  stream: boolean;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  upstreamStatus: number | null;
  tokens: { prompt: number; completion: number; total: number };
  latencyMs: number;
  upstreamMs: number | null;
  overheadMs: number | null;
  content: unknown;
}

export interface LogPage {
  items: LogEntry[];
  nextCursor: string | null;
}
