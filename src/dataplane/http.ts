import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-depth.js';
import { authThrottled, TollgateError } from '../errors.js';
import type { Dialect, Operation, OperationSpec } from '../operations/operation.js';
import { models } from '../operations/models.js';
import { AZURE_DEPLOYMENT_PREFIX, buildRoutes, operationSpec } from '../operations/registry.js';
import type { ProjectRuntime } from '../snapshot/config-snapshot.js';
import { clientAddress, type AuthThrottle } from '../security/auth-throttle.js';
import { authenticateProject, projectKeyOf } from './authenticate.js';
import { answerPreflight, beginCors, narrowCors } from './cors.js';
import type { ExchangeRecord } from './exchange-observer.js';
import type { DataPlaneRequest } from './data-plane-request.js';
import { proxy, type DataPlaneDeps } from './proxy.js';
import { sendError, sendJson } from './relay.js';

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

/** Every operation's POST routes, from the specs: one Map lookup per request. */
const ROUTES = buildRoutes();
const REQUEST_ID = /^[\w.:-]{1,128}$/;

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
    let spec: OperationSpec | undefined;
    let pathDeployment: string | null = null;
    if (req.method === 'POST') {
      spec = ROUTES.exact.get(path);
      if (spec === undefined && !anthropic && path.startsWith(AZURE_DEPLOYMENT_PREFIX)) {
        const slash = path.indexOf('/', AZURE_DEPLOYMENT_PREFIX.length);
        spec = slash === -1 ? undefined : ROUTES.azureDeployment.get(path.slice(slash));
        if (spec !== undefined) {
          pathDeployment = decodeSegment(path.slice(AZURE_DEPLOYMENT_PREFIX.length, slash));
          if (pathDeployment === null) spec = undefined;
        }
      }
    } else if (req.method === 'GET') {
      const dialect = models.routes.get(path);
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
    if (spec === undefined) return false;

    const id = requestIdOf(req.headers);
    const dialect = spec.dialect;
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
      refusedEarly(id, spec.name, err);
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
        const request: DataPlaneRequest = { id, spec, headers: req.headers, pathDeployment, apiVersion, text, body, project };
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
        return provider !== undefined && [...provider.operations].some((op) => operationSpec(op).dialect === dialect);
      });
      sendJson(res, id, 200, models.body(dialect, usable));
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
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
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
