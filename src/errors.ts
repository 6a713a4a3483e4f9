/**
 * The one catalog of errors that may reach a client. Every code here is stable (admins' scripts and
 * clients match on it) and documented in docs/errors.md; a test keeps the two in step.
 */
export const ERROR_CATALOG = {
  // Data plane (answered in the client's dialect, e.g. OpenAI error JSON).
  invalid_api_key: { status: 401, type: 'invalid_request_error', summary: 'No API key, or an unknown or revoked one.' },
  project_not_enabled: { status: 403, type: 'permission_error', summary: "The project is not enabled on its resource's gateway." },
  deployment_not_found: { status: 404, type: 'invalid_request_error', summary: 'The deployment named by the request does not exist for this project.' },
  invalid_request: { status: 400, type: 'invalid_request_error', summary: 'Malformed JSON, wrong types or a missing required field.' },
  request_too_large: { status: 413, type: 'invalid_request_error', summary: 'The request body is larger than the configured limit.' },
  request_timeout: { status: 408, type: 'invalid_request_error', summary: 'The request (headers or body) did not arrive within the configured time.' },
  headers_too_large: { status: 431, type: 'invalid_request_error', summary: 'The request headers are larger than the server accepts.' },
  too_many_auth_failures: { status: 429, type: 'rate_limit_error', summary: 'Too many failed authentications from this address; see Retry-After.' },
  token_rate_limit_exceeded: { status: 429, type: 'rate_limit_error', summary: 'The tokens-per-minute limit is exceeded; see Retry-After.' },
  token_quota_exceeded: { status: 403, type: 'insufficient_quota', summary: 'The token quota for the period is exhausted; see Retry-After.' },
  upstream_error: { status: 502, type: 'api_error', summary: 'The upstream deployment could not be reached or broke the connection.' },
  upstream_response_too_large: { status: 502, type: 'api_error', summary: 'The upstream answer (or one event of its stream) is larger than the configured limit.' },
  upstream_timeout: { status: 504, type: 'api_error', summary: 'The upstream deployment did not answer in time, or stalled in the middle of its answer.' },
  backends_unavailable: { status: 503, type: 'api_error', summary: "Every backend of the deployment is tripped by its circuit breaker; see Retry-After (the soonest recovery)." },
  route_not_found: { status: 404, type: 'invalid_request_error', summary: 'No such path or method.' },
  internal_error: { status: 500, type: 'api_error', summary: 'An unexpected error; the message names the request id to look up in the logs.' },
  shutting_down: { status: 503, type: 'api_error', summary: 'The node is shutting down and takes no new requests; retry (on another node).' },
  cors_origin_not_allowed: { status: 403, type: 'permission_error', summary: "A browser preflight from an origin no gateway served here lists in its corsOrigins." },
  agent_blocked: { status: 403, type: 'permission_error', summary: 'The agent is blocked by an admin; every request to it is refused until it is unblocked.' },
  agent_access_denied: { status: 403, type: 'permission_error', summary: "The key's project neither owns the agent nor is granted its use." },
  agent_rate_limit_exceeded: { status: 429, type: 'rate_limit_error', summary: "The project's requests-per-minute limit on the agent is exceeded; see Retry-After." },
  agent_quota_exceeded: { status: 403, type: 'insufficient_quota', summary: "The project's request quota on the agent is exhausted for the period; see Retry-After." },
  agent_not_found: { status: 404, type: 'invalid_request_error', summary: "No agent of that name is registered on the key's gateway." },
  mcp_access_denied: { status: 403, type: 'permission_error', summary: 'The project was not granted the MCP server on its gateway, or the tool is not on its allow-list.' },
  mcp_server_blocked: { status: 403, type: 'permission_error', summary: 'The MCP server is blocked by an admin.' },
  tool_rate_limit_exceeded: { status: 429, type: 'rate_limit_error', summary: 'The calls-per-minute limit of the MCP tool (or server) is exceeded; see Retry-After.' },
  tool_quota_exceeded: { status: 403, type: 'insufficient_quota', summary: 'The call quota of the MCP tool (or server) for the period is spent; see Retry-After.' },
  budget_exceeded: { status: 403, type: 'insufficient_quota', summary: "The money budget for the period is spent (or this request's worst-case cost does not fit in what is left); see Retry-After." },
  deployment_not_priced: { status: 403, type: 'permission_error', summary: 'A money budget applies, but the deployment (or one backend of its pool) has no prices in the budget\'s currency: a configuration error the admin must fix.' },
  limiter_unavailable: { status: 503, type: 'api_error', summary: 'Token limits cannot be checked (the limit store is unreachable) and the failure policy is fail-closed; see Retry-After.' },

  // Control plane (admin API: {"error": {"code", "message"}}).
  unauthorized: { status: 401, type: 'authentication_error', summary: 'No admin token, or an unknown or revoked one.' },
  forbidden: { status: 403, type: 'permission_error', summary: "The admin token's role does not allow this action." },
  not_found: { status: 404, type: 'not_found_error', summary: 'A named resource, deployment, project, gateway, instance or limit does not exist.' },
  validation_failed: { status: 400, type: 'invalid_request_error', summary: 'A field is missing or invalid; the message names it.' },
  already_exists: { status: 409, type: 'conflict_error', summary: 'Something with that name already exists.' },
  instance_in_use: { status: 409, type: 'conflict_error', summary: 'The instance already backs another gateway (an instance backs at most one), or backs a gateway and so cannot be deleted.' },
  resource_has_gateway: { status: 409, type: 'conflict_error', summary: 'The resource already has a gateway (at most one), or must lose it before being deleted.' },
  gateway_has_enabled_projects: { status: 409, type: 'conflict_error', summary: 'The gateway still has enabled projects; disable them first, or delete with disableProjects=true.' },
  limit_exists: { status: 409, type: 'conflict_error', summary: 'A limit for that project and deployment already exists on the gateway; edit it instead.' },
} as const satisfies Record<string, { status: number; type: string; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class TollgateError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { headers?: Record<string, string>; param?: string } = {},
  ) {
    super(message);
    this.name = 'TollgateError';
    this.status = ERROR_CATALOG[code].status;
  }
}

export function isTollgateError(err: unknown): err is TollgateError {
  return err instanceof TollgateError;
}

/** The answer to an address that failed to authenticate too often (see AuthThrottle). */
export function authThrottled(seconds: number): TollgateError {
  return new TollgateError('too_many_auth_failures', `Too many failed authentications from this address; try again in ${seconds} seconds.`, {
    headers: { 'retry-after': String(seconds) },
  });
}
