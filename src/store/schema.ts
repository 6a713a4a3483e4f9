import type { RollupRow } from '../usage/ledger.js';

export type { RollupRow };

/**
 * Table types for Kysely. The schema is portable SQL (text ids, ISO-8601 text timestamps, integer
 * counts), so one store implementation serves SQLite and PostgreSQL through Kysely's dialects.
 */
export interface Database {
  instances: { id: string; name: string; created_at: string };
  resources: { id: string; name: string; description: string | null; created_at: string; updated_at: string };
  deployments: {
    id: string;
    resource_id: string;
    name: string;
    provider: string;
    upstream_url: string | null;
    upstream_url_sealed: string | null;
    upstream_model: string | null;
    upstream_api_key_sealed: string | null;
    api_version: string | null;
    default_completion_reservation: number | null;
    options: string;
    /** JSON, null: one upstream. */
    backends?: string | null;
    retry?: string | null;
    circuit_breaker?: string | null;
    /** JSON Pricing; null: no prices. */
    pricing?: string | null;
    created_at: string;
    updated_at: string;
  };
  projects: {
    id: string;
    resource_id: string;
    name: string;
    gateway_status: string;
    primary_key_hash: string;
    primary_key_hint: string;
    secondary_key_hash: string;
    secondary_key_hint: string;
    created_at: string;
  };
  gateways: {
    id: string;
    name: string;
    resource_id: string;
    instance_id: string;
    status: string;
    created_at: string;
    log_content: number;
    /** The default project limit's values; all three null: the gateway has none. */
    default_tokens_per_minute: number | null;
    default_token_quota: number | null;
    default_quota_period: string | null;
    /** JSON array of origins. */
    cors_origins: string;
  };
  archived_gateways: {
    id: string;
    name: string;
    resource_name: string;
    instance_name: string;
    created_at: string;
    deleted_at: string;
  };
  limits: {
    id: string;
    gateway_id: string;
    project_id: string;
    deployment_id: string | null;
    /** deployment_id or '' — lets one unique index forbid two limits for the same scope. */
    scope_key: string;
    tokens_per_minute: number | null;
    token_quota: number | null;
    quota_period: string | null;
    budget_micros?: number | null;
    budget_currency?: string | null;
    budget_period?: string | null;
    created_at: string;
    updated_at: string;
  };
  admin_tokens: {
    id: string;
    name: string;
    role: string;
    resources: string | null;
    token_hash: string;
    token_hint: string;
    created_at: string;
  };
  audit_log: {
    id: string;
    at: string;
    actor: string;
    action: string;
    target: string;
    detail: string | null;
    previous: string | null;
  };
  config_version: { id: number; version: number };
  limiter_state: { limit_id: string; state: string; updated_at: string };
  limiter_checkpoint: { id: number; ledger_through: string; updated_at: string };
  request_log: {
    id: string;
    at_ms: number;
    request_id: string;
    gateway: string;
    project: string;
    deployment: string | null;
    operation: string;
    stream: number;
    status: number;
    outcome: string;
    error_code: string | null;
    upstream_status: number | null;
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    latency_ms: number;
    upstream_ms: number | null;
    overhead_ms: number | null;
    content: string | null;
    backend: string | null;
    attempts: number | null;
    reserved_tokens: number | null;
    max_tokens_capped: number | null;
    limit_id: string | null;
    limit_scope: string | null;
    limit_kind: string | null;
    limit_value: number | null;
    remaining_tokens: number | null;
    message: string | null;
    cost_micros: number | null;
    currency: string | null;
  };
  nodes: {
    id: string;
    /** null: an embedded node serving every instance. */
    instance: string | null;
    address: string;
    version: string;
    config_version: number;
    started_at: string;
    heartbeat_at: string;
  };
  usage_minute: RollupRow;
  usage_hour: RollupRow;
  usage_day: RollupRow;
  ledger_rollup_marks: { writer: string; through_id: string; seen_ms: number };
  agents: {
    id: string;
    gateway_id: string;
    project_id: string;
    name: string;
    url: string;
    protocol: string;
    agent_card_url: string | null;
    otel_agent_id: string | null;
    admin_portal_url: string | null;
    description: string | null;
    blocked: number;
    created_at: string;
    updated_at: string;
  };
  agent_grants: { agent_id: string; project_id: string; created_at: string };
  agent_limits: {
    id: string;
    gateway_id: string;
    agent_id: string;
    project_id: string;
    requests_per_minute: number | null;
    request_quota: number | null;
    quota_period: string | null;
    created_at: string;
    updated_at: string;
  };
  agent_requests: {
    id: string;
    at_ms: number;
    request_id: string;
    gateway: string;
    agent: string;
    project: string;
    method: string;
    rpc_method: string | null;
    status: number;
    outcome: string;
    error_code: string | null;
    latency_ms: number;
    streamed: number;
    otel_agent_id: string | null;
    counted: number;
  };
  // MCP servers through the gateway (migration 0010, src/store/mcp-store.ts)
  mcp_servers: {
    id: string;
    resource_id: string;
    name: string;
    url: string;
    auth_type: string;
    auth_header_name: string | null;
    auth_value_sealed: string | null;
    description: string | null;
    status: string;
    created_at: string;
    updated_at: string;
  };
  mcp_grants: { id: string; gateway_id: string; server_id: string; project_id: string; tools: string | null; created_at: string; updated_at: string };
  mcp_limits: {
    id: string;
    gateway_id: string;
    project_id: string;
    server_id: string;
    tool: string | null;
    scope_key: string;
    calls_per_minute: number | null;
    call_quota: number | null;
    quota_period: string | null;
    created_at: string;
    updated_at: string;
  };
  mcp_call_log: {
    id: string;
    at_ms: number;
    request_id: string;
    gateway: string;
    project: string;
    server: string;
    method: string;
    tool: string | null;
    status: number;
    outcome: string;
    error_code: string | null;
    latency_ms: number;
    upstream_ms: number | null;
    session: string | null;
  };
}
