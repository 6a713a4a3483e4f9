import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { authenticateProject, projectKeyOf } from '../dataplane/authenticate.js';
import { authThrottled, TollgateError } from '../errors.js';
import type { Limiter, Reservation } from '../limits/limiter.js';
import { clientAddress, type AuthThrottle } from '../security/auth-throttle.js';
import { errorBody } from '../server/error-body.js';
import type { ConfigSnapshot, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { Outcome } from '../usage/ledger.js';
import { rewriteCard } from './agent-card.js';
import type { AgentLedger } from './agent-ledger.js';
import type { AgentMonitor } from './agent-monitor.js';
import type { AgentRuntime } from './agent-runtime.js';
import { jsonRpcErrorBody, rpcCallOf, type RpcCall } from './jsonrpc.js';
import { readBody } from '../dataplane/http.js';

export const AGENTS_PREFIX = '/agents/';
const CARD_PATHS: ReadonlySet<string> = new Set(['/.well-known/agent-card.json', '/.well-known/agent.json']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

export interface AgentProxyDeps {
  snapshots: { readonly current: ConfigSnapshot };
  limiter: Limiter;
  monitor: AgentMonitor;
  ledger: AgentLedger;
  dispatcher: Dispatcher;
  logger: Logger;
  authThrottle: AuthThrottle;
  trustProxy: boolean;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Time to the agent's headers, and between two chunks of its body. */
  upstreamTimeoutMs: number;
  /** The address clients reach the gateway at (TOLLGATE_PUBLIC_URL); else taken from each request. */
  publicUrl: string | undefined;
}

export interface AgentProxy {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  beginClose(): void;
}

/** What is known of a request as it goes: enough for its ledger row and its refusal's shape. */
interface Exchange {
  id: string;
  atMs: number;
  started: number;
  method: string;
  project: ProjectRuntime | null;
  agent: AgentRuntime | null;
  call: RpcCall;
}

/**
 * `ANY /agents/{name}/…`: forwards method, path, query and body to the agent's URL and its answer
 * back, both streamed (an SSE answer goes out event by event as the agent writes it). Decides from
 * the config snapshot only: the key's project, the agent on its gateway, access, block, limits.
 * The project key comes in `api-key` / `x-api-key` (then `Authorization` is the agent's own and
 * passes through), or alone as `Authorization: Bearer <key>` (then it is not forwarded).
 */
export function createAgentProxy(deps: AgentProxyDeps): AgentProxy {
  let closing = false;

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    if (!url.startsWith(AGENTS_PREFIX)) return false;
    const given = req.headers['x-request-id'];
    const x: Exchange = {
      id: typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID(),
      atMs: Date.now(),
      started: performance.now(),
      method: req.method ?? 'GET',
      project: null,
      agent: null,
      call: { method: null, id: null },
    };
    run(req, res, url, x).catch((err: unknown) => {
      // A body the refusal left unread is drained, so the connection can carry the next request.
      if (!req.readableEnded) req.resume();
      if (err instanceof TollgateError) refuse(res, x, err);
      else {
        deps.logger.error({ err, reqId: x.id }, 'unexpected error (agent proxy)');
        if (res.headersSent) res.destroy();
        else refuse(res, x, new TollgateError('internal_error', `Internal error; quote request id ${x.id} when reporting it.`));
      }
    });
    return true;
  };

  const run = async (req: IncomingMessage, res: ServerResponse, url: string, x: Exchange): Promise<void> => {
    if (closing) throw new TollgateError('shutting_down', 'This node is shutting down; retry the request (on another node).', { headers: { 'retry-after': '1' } });
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q);
    const slash = path.indexOf('/', AGENTS_PREFIX.length);
    const name = decode(path.slice(AGENTS_PREFIX.length, slash === -1 ? undefined : slash));
    const rest = slash === -1 ? '' : path.slice(slash);
    if (!name) throw new TollgateError('agent_not_found', 'Name the agent: /agents/{name}/…');

    const project = (x.project = authenticate(req));
    const agent = project.gateway ? deps.snapshots.current.agents?.get(project.gateway.id)?.get(name) : undefined;
    if (!agent) throw new TollgateError('agent_not_found', `No agent "${name}" is registered on gateway "${project.gateway?.name ?? ''}".`);
    x.agent = agent;

    // An A2A call's body is read first (bounded), so a refusal can answer its JSON-RPC id.
    let body: string | IncomingMessage | null = null;
    if (agent.protocol === 'a2a' && req.method === 'POST') {
      body = await readBody(req, deps.maxBodyBytes, deps.requestTimeoutMs);
      x.call = rpcCallOf(body);
    } else if (req.method !== 'GET' && req.method !== 'HEAD') body = req;

    if (!agent.projects.has(project.id)) {
      throw new TollgateError('agent_access_denied', `Project "${project.name}" may not use agent "${agent.name}": it neither owns it nor was granted it.`);
    }
    if (agent.blocked) throw new TollgateError('agent_blocked', `Agent "${agent.name}" is blocked by an admin.`);

    if (agent.protocol === 'a2a' && req.method === 'GET' && isCardPath(agent, rest)) {
      const version = req.headers['a2a-version'];
      const card = await deps.monitor.card(agent, typeof version === 'string' ? version : undefined);
      if (!card) throw new TollgateError('upstream_error', `The card of agent "${agent.name}" could not be fetched from ${agent.agentCardUrl ?? agent.url}.`);
      const rewritten = JSON.stringify(rewriteCard(card, agent.url, proxyUrlOf(req, agent.name)));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(rewritten), 'x-request-id': x.id });
      res.end(rewritten);
      finish(x, 200, 'ok', null, false);
      return;
    }

    const rules = agent.limitsFor(project.id);
    let reservation: Reservation | null = null;
    if (rules.length > 0) {
      let decision;
      try {
        decision = await deps.limiter.reserve(rules, 1);
      } catch (err) {
        deps.logger.warn({ err, reqId: x.id }, 'agent limits could not be checked');
        throw new TollgateError('limiter_unavailable', 'Agent request limits cannot be checked right now; retry shortly.', { headers: { 'retry-after': '1' } });
      }
      if (!decision.ok) throw limitRefusal(decision.kind, decision.limit, decision.retryAfterSeconds, agent.name);
      reservation = decision.reservation;
    }
    await forward(req, res, x, agent, rest + query, body, reservation);
  };

  const forward = async (
    req: IncomingMessage,
    res: ServerResponse,
    x: Exchange,
    agent: AgentRuntime,
    pathAndQuery: string,
    body: string | IncomingMessage | null,
    reservation: Reservation | null,
  ): Promise<void> => {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    let answered = false;
    try {
      const target = agent.url.replace(/\/+$/, '') + pathAndQuery;
      let upstream: Dispatcher.ResponseData;
      try {
        upstream = await request(target, {
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: forwardedHeaders(req.headers, typeof body === 'string', x.id),
          body,
          dispatcher: deps.dispatcher,
          signal: abort.signal,
          headersTimeout: deps.upstreamTimeoutMs,
          bodyTimeout: deps.upstreamTimeoutMs,
        });
      } catch (err) {
        if (reservation) await deps.limiter.release(reservation).catch(() => undefined);
        reservation = null;
        if (abort.signal.aborted) {
          finish(x, 499, 'client_aborted', null, false);
          return;
        }
        const timedOut = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
        throw new TollgateError(timedOut ? 'upstream_timeout' : 'upstream_error', timedOut ? `Agent "${agent.name}" did not answer within ${deps.upstreamTimeoutMs / 1000} s.` : `Agent "${agent.name}" could not be reached.`);
      }
      answered = true;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upstream.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      headers['x-request-id'] = x.id;
      const type = upstream.headers['content-type'];
      const streamed = typeof type === 'string' && type.startsWith('text/event-stream');
      res.writeHead(upstream.statusCode, headers);
      // Headers out at once: a stream's client sees the answer start before the first event.
      if (streamed) res.flushHeaders();
      try {
        for await (const chunk of upstream.body) {
          // A client that leaves while the proxy waits aborts the wait too (a closed socket never drains).
          if (!res.write(chunk)) await once(res, 'drain', { signal: abort.signal });
        }
        res.end();
      } catch {
        if (!res.destroyed) res.destroy();
        finish(x, upstream.statusCode, abort.signal.aborted || res.destroyed ? 'client_aborted' : 'upstream_error', null, streamed, true);
        return;
      }
      finish(x, upstream.statusCode, upstream.statusCode >= 500 ? 'upstream_error' : 'ok', null, streamed, true);
    } finally {
      res.off('close', onClose);
      // The request reached the agent: it counts, once, whatever came of it.
      if (reservation) await deps.limiter.settle(reservation, 1).catch((err: unknown) => deps.logger.warn({ err }, 'agent limit settle failed'));
      if (!answered && typeof body === 'object' && body !== null) body.resume();
    }
  };

  const authenticate = (req: IncomingMessage): ProjectRuntime => {
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
  };

  const proxyUrlOf = (req: IncomingMessage, name: string): string => proxyBase(req, deps.publicUrl, deps.trustProxy) + AGENTS_PREFIX + encodeURIComponent(name);

  /** Answers a refusal in the agent's dialect: a JSON-RPC error for A2A, Tollgate's error JSON otherwise. */
  const refuse = (res: ServerResponse, x: Exchange, err: TollgateError): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const payload = JSON.stringify(x.agent?.protocol === 'a2a' ? jsonRpcErrorBody(err, x.call.id) : errorBody(err));
    res.writeHead(err.status, { ...err.options.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-request-id': x.id });
    res.end(payload);
    const outcome: Outcome =
      err.code === 'agent_rate_limit_exceeded' ? 'rate_limited' : err.code === 'agent_quota_exceeded' ? 'quota_exceeded' : err.code === 'upstream_error' || err.code === 'upstream_timeout' ? 'upstream_error' : 'rejected';
    finish(x, err.status, outcome, err.code, false);
  };

  /** The ledger row and the metric of a request that reached a project and an agent. */
  const finish = (x: Exchange, status: number, outcome: Outcome, errorCode: string | null, streamed: boolean, counted = false): void => {
    const latencyMs = Math.round((performance.now() - x.started) * 100) / 100;
    deps.logger.info(
      { reqId: x.id, agent: x.agent?.name, project: x.project?.name, method: x.method, rpcMethod: x.call.method, status, outcome, errorCode, durationMs: latencyMs },
      'agent request',
    );
    if (!x.project?.gateway || !x.agent) return;
    deps.ledger.record({
      atMs: x.atMs,
      requestId: x.id,
      gateway: x.project.gateway.id,
      gatewayName: x.project.gateway.name,
      agent: x.agent.name,
      project: x.project.name,
      method: x.method,
      rpcMethod: x.call.method,
      status,
      outcome,
      errorCode,
      latencyMs,
      streamed,
      otelAgentId: x.agent.otelAgentId,
      counted,
    });
  };

  return {
    handle,
    beginClose: () => {
      closing = true;
    },
  };
}

/** The well-known card paths, and the registered card's own path when it lies under the agent's URL. */
function isCardPath(agent: AgentRuntime, rest: string): boolean {
  if (CARD_PATHS.has(rest)) return true;
  const base = agent.url.replace(/\/+$/, '');
  return agent.agentCardUrl !== null && rest !== '' && agent.agentCardUrl === base + rest;
}

function limitRefusal(kind: 'tpm' | 'quota', limit: number, retryAfter: number | null, agent: string): TollgateError {
  const headers: Record<string, string> = retryAfter === null ? { 'x-should-retry': 'false' } : { 'retry-after': String(retryAfter), 'retry-after-ms': String(retryAfter * 1000) };
  return kind === 'tpm'
    ? new TollgateError('agent_rate_limit_exceeded', `The project's limit of ${limit} requests per minute to agent "${agent}" is reached.`, { headers })
    : new TollgateError('agent_quota_exceeded', `The project's quota of ${limit} requests to agent "${agent}" is used up for this period.`, { headers });
}

/** The headers sent to the agent: the client's, without hop-by-hop ones and without the gateway key. */
function forwardedHeaders(h: IncomingHttpHeaders, buffered: boolean, requestId: string): Record<string, string | string[]> {
  const keyInHeader = typeof (h['api-key'] ?? h['x-api-key']) === 'string';
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'api-key' || name === 'x-api-key') continue;
    // Only `Authorization: Bearer <project key>` carried the key: it is the gateway's, not the agent's.
    if (name === 'authorization' && !keyInHeader) continue;
    if (buffered && name === 'content-length') continue;
    out[name] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}

/** The gateway's address as clients reach it. */
export function proxyBase(req: IncomingMessage, publicUrl: string | undefined, trustProxy: boolean): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const forwardedProto = trustProxy ? first(req.headers['x-forwarded-proto']) : undefined;
  const forwardedHost = trustProxy ? first(req.headers['x-forwarded-host']) : undefined;
  const proto = forwardedProto ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return `${proto}://${forwardedHost ?? req.headers.host ?? 'localhost'}`;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v?.split(',')[0]?.trim()) || undefined;

function decode(segment: string): string | null {
  if (segment.length === 0) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

