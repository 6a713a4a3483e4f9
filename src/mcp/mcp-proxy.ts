import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { authenticateProject, projectKeyOf } from '../dataplane/authenticate.js';
import { readBody } from '../dataplane/http.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-depth.js';
import { authThrottled, TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { clientAddress, type AuthThrottle } from '../security/auth-throttle.js';
import type { ConfigSnapshot, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { McpOutcome } from '../store/mcp-store.js';
import { reserveCall, type CallHold } from './call-hold.js';
import { describeMessage, jsonRpcError } from './jsonrpc.js';
import type { McpCallObserver, McpCallRecord } from './mcp-ledger.js';
import { EMPTY_MCP_INDEX, type McpGrantRuntime, type McpServerRuntime } from './mcp-snapshot.js';
import { drained, relayEvents, relayJson } from './mcp-relay.js';

export interface McpProxyDeps {
  snapshots: { readonly current: ConfigSnapshot };
  limiter: Limiter;
  /** The node's upstream connection pool. */
  dispatcher: Dispatcher;
  /** The call ledger and the metrics. */
  observers: readonly McpCallObserver[];
  logger: Logger;
  authThrottle: AuthThrottle;
  trustProxy: boolean;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** No answer (or, within an answer, no byte) for this long: 504. A session's GET stream may idle. */
  upstreamTimeoutMs: number;
  maxUpstreamBodyBytes: number;
}

export interface McpProxy {
  /** Answers `/mcp/{server}` (POST, GET, DELETE) and returns false for anything else. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  beginClose(): void;
}

const PREFIX = '/mcp/';
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Headers of the client's request that reach the upstream; never its credentials (Authorization, api-key, x-api-key, cookies). */
const FORWARDED_REQUEST_HEADERS = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'user-agent'] as const;
/** Headers of the upstream's answer that reach the client. */
const RELAYED_RESPONSE_HEADERS = ['content-type', 'mcp-session-id', 'cache-control', 'allow'] as const;

/**
 * The MCP proxy (docs/mcp.md): Streamable HTTP clients reach a registered MCP server at
 * `/mcp/{server}` with their project key. Everything is decided from the config snapshot (the
 * server's status, the project's grant and tool allow-list, the call limits) and the limiter;
 * nothing on the request path touches the database. The key stays here; the server's configured
 * credential goes upstream instead.
 */
export function createMcpProxy(deps: McpProxyDeps): McpProxy {
  let closing = false;

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) return false;
    const q = url.indexOf('?');
    const name = decodeSegment(url.slice(PREFIX.length, q === -1 ? undefined : q));
    const method = req.method ?? '';
    if (name === null || (method !== 'POST' && method !== 'GET' && method !== 'DELETE')) return false;
    const id = requestIdOf(req.headers);
    serve(deps, req, res, id, name, () => closing).catch((err: unknown) => {
      deps.logger.error({ err, reqId: id }, 'unexpected error');
      if (res.headersSent) res.destroy();
      else send(res, id, new TollgateError('internal_error', `Internal error; quote request id ${id} when reporting it.`), null);
    });
    return true;
  };

  return {
    handle,
    beginClose: () => {
      closing = true;
    },
  };
}

/** One MCP exchange's state. Not shared: one per HTTP request. */
interface McpExchange {
  readonly record: McpCallRecord;
  /** The id of the client's JSON-RPC request, for an error answer and to find the server's response. */
  rpcId: string | number | null;
  /** Whether the exchange carried a JSON-RPC message (POST): those are the ledger's rows. */
  rpc: boolean;
  hold: CallHold | null;
  clientGone: boolean;
}

async function serve(deps: McpProxyDeps, req: IncomingMessage, res: ServerResponse, id: string, name: string, closing: () => boolean): Promise<void> {
  const started = performance.now();
  const session = req.headers['mcp-session-id'];
  const x: McpExchange = {
    record: {
      requestId: id,
      startedAtMs: Date.now(),
      durationMs: 0,
      server: name,
      method: req.method ?? '',
      tool: null,
      status: 0,
      outcome: 'ok',
      errorCode: null,
      upstreamMs: null,
      session: typeof session === 'string' ? session : null,
    },
    rpcId: null,
    rpc: req.method === 'POST',
    hold: null,
    clientGone: false,
  };
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableEnded) {
      x.clientGone = true;
      abort.abort();
    }
  };
  res.on('close', onClose);
  try {
    if (closing()) throw new TollgateError('shutting_down', 'This node is shutting down; retry the request (on another node).', { headers: { 'retry-after': '1' } });
    await forward(deps, req, res, x, name, abort.signal);
  } catch (err) {
    await failed(err, x, res);
  } finally {
    res.off('close', onClose);
    await x.hold?.release(); // a call that never reached the upstream does not count
    const r = x.record;
    r.durationMs = Math.round((performance.now() - started) * 100) / 100;
    if (x.clientGone && r.outcome === 'ok' && !res.writableFinished) r.outcome = 'client_aborted';
    // GET and DELETE carry no JSON-RPC message: logged only when refused or failed (a client closing its stream is not news).
    if (x.rpc || r.errorCode !== null) for (const observer of deps.observers) observer.mcpCallFinished(r);
    if (deps.logger.isLevelEnabled('info')) deps.logger.info({ reqId: id, mcp: true, ...r }, 'proxied MCP request');
  }
}

async function forward(deps: McpProxyDeps, req: IncomingMessage, res: ServerResponse, x: McpExchange, name: string, signal: AbortSignal): Promise<void> {
  const r = x.record;
  // The key is checked from the headers, before a byte of the body is read.
  const project = authenticate(deps, req);
  r.project = project.name;
  r.gateway = project.gateway?.name;
  r.gatewayId = project.gateway?.id;

  let bodyText: string | undefined;
  if (req.method === 'POST') {
    bodyText = await readBody(req, deps.maxBodyBytes, deps.requestTimeoutMs);
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      throw new TollgateError('invalid_request', 'The request body is not valid JSON.');
    }
    if (nestedDeeperThan(body)) throw new TollgateError('invalid_request', `The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`);
    const message = describeMessage(body);
    if (message.kind === 'batch') {
      throw new TollgateError('invalid_request', 'JSON-RPC batches are not supported (MCP 2025-06-18 removed them): send one message per POST.');
    }
    if (message.kind === 'invalid') throw new TollgateError('invalid_request', message.problem);
    if (message.kind === 'request') {
      r.method = message.method;
      r.tool = message.tool;
      x.rpcId = message.id;
    } else r.method = message.kind === 'notification' ? message.method : 'response';
  }

  const { server, grant } = access(deps.snapshots.current, project, name);
  if (r.tool !== null) {
    if (grant.tools !== null && !grant.tools.has(r.tool)) {
      const allowed = grant.tools.size === 0 ? 'none' : [...grant.tools].join(', ');
      throw new TollgateError(
        'mcp_access_denied',
        `Tool "${r.tool}" of MCP server "${name}" is not allowed for project "${project.name}" (allowed: ${allowed}). Ask an admin to add it to the project's grant.`,
      );
    }
    // Reserve before forwarding: concurrent calls must not all see the same remaining count.
    x.hold = await reserveCall(deps.limiter, grant.limitsFor(r.tool), { project: project.name, server: name, tool: r.tool });
  }

  const upstreamStarted = performance.now();
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await request(server.url, {
      method: req.method as 'POST' | 'GET' | 'DELETE',
      headers: upstreamHeaders(req.headers, server, r.requestId),
      body: bodyText,
      dispatcher: deps.dispatcher,
      signal,
      headersTimeout: deps.upstreamTimeoutMs,
      // A session's GET stream carries only what the server has to say: it may be quiet for long.
      bodyTimeout: req.method === 'GET' ? 0 : deps.upstreamTimeoutMs,
    });
  } catch (err) {
    // Refused before any answer: the call did not reach the server (its hold is released).
    // Otherwise it may have: it counts.
    if (!neverSent(err)) await x.hold?.settle();
    throw upstreamFailure(err, server.name);
  }
  // The upstream answered: the call counts, whatever the answer.
  await x.hold?.settle();
  r.status = upstream.statusCode;
  const sessionBack = upstream.headers['mcp-session-id'];
  if (typeof sessionBack === 'string') r.session = sessionBack;
  if (upstream.statusCode >= 400) r.outcome = 'upstream_error';

  const headers: Record<string, string> = { 'x-request-id': r.requestId };
  for (const h of RELAYED_RESPONSE_HEADERS) {
    const v = upstream.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const type = headers['content-type'] ?? '';
  try {
    if (type.startsWith('text/event-stream')) await relayEvents(deps, res, upstream, headers, grant, x);
    else if (type.startsWith('application/json')) await relayJson(deps, res, upstream, headers, grant, x);
    else {
      res.writeHead(upstream.statusCode, headers);
      for await (const chunk of upstream.body) if (!res.write(chunk)) await drained(res);
      res.end();
    }
  } finally {
    r.upstreamMs = Math.round((performance.now() - upstreamStarted) * 100) / 100;
  }
}

/** The server, its status and the project's grant: every check made from the snapshot. */
function access(snapshot: ConfigSnapshot, project: ProjectRuntime, name: string): { server: McpServerRuntime; grant: McpGrantRuntime } {
  const index = snapshot.mcp ?? EMPTY_MCP_INDEX;
  const server = index.server(project.resourceName, name);
  if (!server) {
    throw new TollgateError('mcp_access_denied', `No MCP server "${name}" is registered on resource "${project.resourceName}" (of project "${project.name}").`);
  }
  if (server.blocked) {
    throw new TollgateError('mcp_server_blocked', `MCP server "${name}" is blocked by an admin: no project can use it until it is unblocked.`);
  }
  const gateway = project.gateway!; // an enabled project has its gateway (authenticateProject)
  const grant = index.grant(gateway.id, project.id, server.id);
  if (!grant) {
    throw new TollgateError(
      'mcp_access_denied',
      `Project "${project.name}" is not granted MCP server "${name}" on gateway "${gateway.name}". Ask an admin to grant it.`,
    );
  }
  return { server, grant };
}

/** Answers a failure (a JSON-RPC error with the catalogued status), or cuts a stream that had begun. */
async function failed(err: unknown, x: McpExchange, res: ServerResponse): Promise<void> {
  const r = x.record;
  if (x.clientGone) {
    r.outcome = 'client_aborted';
    if (!res.destroyed) res.destroy();
    return;
  }
  // The upstream broke off or stalled in the middle of its answer.
  if (!(err instanceof TollgateError) && isTransportError(err)) err = upstreamFailure(err, r.server);
  if (!(err instanceof TollgateError)) throw err;
  r.errorCode = err.code;
  r.outcome = outcomeOf(err);
  if (res.headersSent) {
    res.destroy(); // a stream the upstream broke off: the client sees it end abnormally
    return;
  }
  r.status = err.status;
  send(res, r.requestId, err, x.rpcId);
}

function outcomeOf(err: TollgateError): McpOutcome {
  if (err.code === 'tool_rate_limit_exceeded') return 'rate_limited';
  if (err.code === 'tool_quota_exceeded') return 'quota_exceeded';
  if (err.code.startsWith('upstream_')) return 'upstream_error';
  return 'rejected';
}

function send(res: ServerResponse, requestId: string, error: TollgateError, rpcId: string | number | null): void {
  const headers: Record<string, string | number> = { ...error.options.headers };
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && headers['retry-after-ms'] === undefined) headers['retry-after-ms'] = String(Number(retryAfter) * 1000);
  // Refused before its body was read (no or wrong key): the connection goes, so no body is held open.
  if (error.code === 'invalid_api_key' || error.code === 'too_many_auth_failures' || error.code === 'shutting_down') headers.connection = 'close';
  const text = JSON.stringify(jsonRpcError(error, rpcId));
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = Buffer.byteLength(text);
  headers['x-request-id'] = requestId;
  res.writeHead(error.status, headers);
  res.end(text);
}

function authenticate(deps: McpProxyDeps, req: IncomingMessage): ProjectRuntime {
  const address = deps.authThrottle.active ? clientAddress(req, deps.trustProxy) : null;
  if (address !== null) {
    const wait = deps.authThrottle.retryAfter(address);
    if (wait > 0) throw authThrottled(wait);
  }
  try {
    return authenticateProject(deps.snapshots.current, req.headers);
  } catch (err) {
    if (err instanceof TollgateError && err.code === 'invalid_api_key' && projectKeyOf(req.headers) !== null) {
      deps.authThrottle.failed(address ?? clientAddress(req, deps.trustProxy));
    }
    throw err;
  }
}

/** The client's MCP headers and the server's configured credential; never the client's key. */
function upstreamHeaders(client: IncomingHttpHeaders, server: McpServerRuntime, requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': requestId };
  for (const h of FORWARDED_REQUEST_HEADERS) {
    const v = client[h];
    if (typeof v === 'string') out[h] = v;
  }
  if (server.authHeader) out[server.authHeader.name] = server.authHeader.value;
  return out;
}

const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const neverSent = (err: unknown) => NEVER_SENT.has(String((err as { code?: unknown }).code ?? ''));

function upstreamFailure(err: unknown, server: string): TollgateError {
  const code = String((err as { code?: unknown }).code ?? '');
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new TollgateError('upstream_timeout', `MCP server "${server}" did not answer in time.`);
  }
  return new TollgateError('upstream_error', `MCP server "${server}" could not be reached or broke the connection (${code || (err as Error).message}).`);
}

/** An error of the connection to the upstream (undici's, or the socket's). */
function isTransportError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('UND_ERR') || code.startsWith('E'));
}

function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function decodeSegment(segment: string): string | null {
  if (segment.length === 0 || segment.includes('/')) return null;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
