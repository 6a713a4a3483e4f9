import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-depth.js';
import { authThrottled, TollgateError } from '../errors.js';
import { dialectOf, type Dialect, type Operation } from '../providers/provider.js';
import type { ProjectRuntime } from '../snapshot/config-snapshot.js';
import { clientAddress, type AuthThrottle } from '../security/auth-throttle.js';
import { authenticateProject, projectKeyOf } from './authenticate.js';
import { answerPreflight, beginCors, narrowCors } from './cors.js';
import type { ExchangeRecord } from './exchange-observer.js';
import { proxy, type DataPlaneDeps } from './proxy.js';
import { sendError, sendJson } from './relay.js';

/** What the proxy knows of an incoming data-plane request. */
export interface DataPlaneRequest {
  readonly id: string;
  readonly operation: Operation;
  readonly headers: IncomingHttpHeaders;
  /** Azure style: the deployment named in the path; OpenAI style: null (it is the body's `model`). */
  readonly pathDeployment: string | null;
  /** The `api-version` query parameter (Azure clients send one). */
  readonly apiVersion: string | null;
  /** The body as received: forwarded as it is when nothing in it changes. */
  readonly text: string;
  /** The body, parsed. */
  readonly body: unknown;
  /** The calling project, authenticated from the headers before the body was read. */
  readonly project?: ProjectRuntime;
}

export interface DataPlaneOptions {
  maxBodyBytes: number;
  /** A request body not complete within this time of its request is refused with 408. */
  requestTimeoutMs: number;
  /** Refuses addresses that failed to authenticate too often. */
  authThrottle: AuthThrottle;
  /** Whether the client address comes from X-Forwarded-For (see clientAddress). */
  trustProxy: boolean;
  logger: Logger;
}

/** A request listener that answers the data plane's routes and returns false for anything else. */
export interface DataPlane {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** From now on, answer 503 and close connections: the node is shutting down. */
  beginClose(): void;
}

const OPENAI_PATHS: ReadonlyMap<string, Operation> = new Map([
  ['/openai/v1/chat/completions', 'chat.completions'],
  ['/openai/v1/completions', 'completions'],
  ['/openai/v1/embeddings', 'embeddings'],
  ['/openai/v1/responses', 'responses'],
]);

const AZURE_PREFIX = '/openai/deployments/';
const AZURE_OPERATIONS: ReadonlyMap<string, Operation> = new Map([
  ['/chat/completions', 'chat.completions'],
  ['/completions', 'completions'],
  ['/embeddings', 'embeddings'],
]);

const ANTHROPIC_PATHS: ReadonlyMap<string, Operation> = new Map([
  ['/anthropic/v1/messages', 'messages'],
  ['/anthropic/v1/messages/count_tokens', 'messages.count_tokens'],
]);

const MODELS_PATHS: ReadonlyMap<string, Dialect> = new Map([
  ['/openai/v1/models', 'openai'],
  ['/anthropic/v1/models', 'anthropic'],
]);
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const EPOCH = '1970-01-01T00:00:00Z';

/**
 * The data plane's HTTP layer, on Node's own request listener rather than the admin API's
 * framework: a request here is a fixed handful of routes, and what a framework adds per request
 * (routing tables, hooks, a child logger, async resources for body parsing, reply objects) cost
 * as much CPU as the governance itself. Everything else — the admin API, the console, metrics,
 * health, and every path it does not know (its 404s) — goes to Fastify.
 */
export function createDataPlane(deps: DataPlaneDeps, options: DataPlaneOptions): DataPlane {
  let closing = false;
  const { logger, maxBodyBytes, requestTimeoutMs, authThrottle, trustProxy } = options;

  /** The project a request's headers authenticate, or throws; failures count against the client's address. */
  const authenticate = (req: IncomingMessage): ProjectRuntime => {
    const address = authThrottle.active ? clientAddress(req, trustProxy) : null;
    if (address !== null) {
      const wait = authThrottle.retryAfter(address);
      if (wait > 0) throw authThrottled(wait);
    }
    try {
      return authenticateProject(deps.snapshots.current, req.headers);
    } catch (err) {
      // A wrong key is a guess; no key at all is not.
      if (err instanceof TollgateError && err.code === 'invalid_api_key' && projectKeyOf(req.headers) !== null) {
        authThrottle.failed(address ?? clientAddress(req, trustProxy));
      }
      throw err;
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '';
    const anthropic = url.startsWith('/anthropic/');
    if (!anthropic && !url.startsWith('/openai/')) return false;
    // Only browsers send an Origin: for every other client, CORS costs this one header read.
    const origin = req.headers.origin;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let operation: Operation | undefined;
    let pathDeployment: string | null = null;
    if (req.method === 'POST') {
      operation = anthropic ? ANTHROPIC_PATHS.get(path) : OPENAI_PATHS.get(path);
      if (operation === undefined && !anthropic && path.startsWith(AZURE_PREFIX)) {
        const slash = path.indexOf('/', AZURE_PREFIX.length);
        operation = slash === -1 ? undefined : AZURE_OPERATIONS.get(path.slice(slash));
        if (operation !== undefined) {
          pathDeployment = decodeSegment(path.slice(AZURE_PREFIX.length, slash));
          if (pathDeployment === null) operation = undefined;
        }
      }
    } else if (req.method === 'GET') {
      const dialect = MODELS_PATHS.get(path);
      if (dialect === undefined) return false;
      const id = requestIdOf(req.headers);
      if (origin !== undefined) beginCors(res, deps.snapshots.current, origin);
      if (closing) sendError(res, id, shuttingDown(), dialect, true);
      else listModels(req, res, id, dialect, origin);
      return true;
    } else if (req.method === 'OPTIONS' && origin !== undefined) {
      // A browser's preflight, answered for any path under /openai/ and /anthropic/ (an unknown
      // one gets its 404 on the request itself).
      const id = requestIdOf(req.headers);
      const dialect: Dialect = anthropic ? 'anthropic' : 'openai';
      if (closing) sendError(res, id, shuttingDown(), dialect, true);
      else {
        const refused = answerPreflight(req, res, deps.snapshots.current, origin);
        if (refused) sendError(res, id, refused, dialect);
      }
      return true;
    }
    if (operation === undefined) return false;

    const id = requestIdOf(req.headers);
    const dialect = dialectOf(operation);
    if (origin !== undefined) beginCors(res, deps.snapshots.current, origin);
    if (closing) {
      req.resume();
      sendError(res, id, shuttingDown(), dialect, true);
      return true;
    }
    // The key is checked from the headers, before a byte of the body is read: a client without a
    // valid key is answered at once and its connection closed, so it can never hold a body open.
    let project: ProjectRuntime;
    try {
      project = authenticate(req);
    } catch (err) {
      if (!(err instanceof TollgateError)) throw err;
      sendError(res, id, err, dialect, true);
      refusedEarly(id, operation, err);
      return true;
    }
    if (origin !== undefined) narrowCors(res, project.gateway, origin);
    const apiVersion = q === -1 ? null : apiVersionOf(url.slice(q + 1));
    readBody(req, maxBodyBytes, requestTimeoutMs).then(
      (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          sendError(res, id, new TollgateError('invalid_request', 'The request body is not valid JSON.'), dialect);
          return;
        }
        if (nestedDeeperThan(body)) {
          sendError(res, id, new TollgateError('invalid_request', `The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`), dialect);
          return;
        }
        const request: DataPlaneRequest = { id, operation, headers: req.headers, pathDeployment, apiVersion, text, body, project };
        proxy(deps, request, res).catch((err: unknown) => unexpected(err, res, id, dialect));
      },
      (err: unknown) => {
        if (err instanceof TollgateError) sendError(res, id, err, dialect, true);
        else if (!res.destroyed) res.destroy(); // the client went away while sending
      },
    );
    return true;
  };

  /** Tells the observers (the metrics) about a request refused before its body was read. */
  const refusedEarly = (id: string, operation: Operation, error: TollgateError): void => {
    const record: ExchangeRecord = {
      requestId: id,
      startedAtMs: Date.now(),
      durationMs: 0,
      operation,
      stream: false,
      status: error.status,
      outcome: 'rejected',
      errorCode: error.code,
    };
    for (const observer of deps.observers) observer.exchangeFinished(record);
  };

  const unexpected = (err: unknown, res: ServerResponse, id: string, dialect: Dialect): void => {
    logger.error({ err, reqId: id }, 'unexpected error');
    if (res.headersSent) res.destroy();
    else sendError(res, id, new TollgateError('internal_error', `Internal error; quote request id ${id} when reporting it.`), dialect);
  };

  /** The deployments the key may use that speak the dialect, in that API's list format. */
  const listModels = (req: IncomingMessage, res: ServerResponse, id: string, dialect: Dialect, origin: string | undefined): void => {
    try {
      const project = authenticate(req);
      if (origin !== undefined) narrowCors(res, project.gateway, origin);
      const usable = [...project.deployments.values()].filter((d) => {
        const provider = deps.providers.get(d.provider);
        return provider !== undefined && [...provider.operations].some((op) => dialectOf(op) === dialect);
      });
      if (dialect === 'anthropic') {
        const data = usable.map((d) => ({ type: 'model', id: d.name, display_name: d.name, created_at: EPOCH }));
        sendJson(res, id, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
      } else {
        const data = usable.map((d) => ({ id: d.name, object: 'model', created: 0, owned_by: d.provider }));
        sendJson(res, id, 200, { object: 'list', data });
      }
    } catch (err) {
      if (err instanceof TollgateError) sendError(res, id, err, dialect);
      else unexpected(err, res, id, dialect);
    }
  };

  return {
    handle,
    beginClose: () => {
      closing = true;
    },
  };
}

function requestIdOf(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function apiVersionOf(query: string): string | null {
  if (!query.includes('api-version=')) return null;
  const value = new URLSearchParams(query).get('api-version');
  return value ? value : null;
}

function decodeSegment(segment: string): string | null {
  if (segment.length === 0) return null;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const shuttingDown = () => new TollgateError('shutting_down', 'This node is shutting down; retry the request (on another node).', { headers: { 'retry-after': '1' } });

/**
 * The request body as text, up to `limit` bytes: a declared length over it is refused before
 * anything is read; a chunked body that grows past it is refused as soon as it does; a body not
 * complete within `timeoutMs` of its request is refused (408) — a slow client holds a connection
 * for a bounded time only.
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  const tooLarge = () => new TollgateError('request_too_large', `The request body is larger than the limit of ${limit} bytes.`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let length = 0;
    const timer = setTimeout(() => {
      req.off('data', onData);
      reject(new TollgateError('request_timeout', `The request body did not arrive within ${timeoutMs / 1000} seconds.`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        clearTimeout(timer);
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      if (first === null) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(timer);
      if (length > limit) return;
      resolve(chunks !== null ? Buffer.concat(chunks, length).toString('utf8') : first === null ? '' : (first as Buffer).toString('utf8'));
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
