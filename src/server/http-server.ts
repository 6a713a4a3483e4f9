import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { TollgateError } from '../errors.js';
import { anthropicErrorBody, errorBody } from './error-body.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Fastify's own defaults for the server it would make itself. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/**
 * The HTTP server of a node. The data plane's listener sees each request first and takes its own
 * routes (see src/dataplane/http.ts); Fastify gets the rest: the admin API, the console, metrics,
 * health, and every unknown path. Fastify's shell — request ids, one log line per request, errors
 * that reach clients only as catalogued codes (anything unexpected is logged and answered with a
 * 500 naming the request id) — matches what the data plane does on its own.
 */
export function createHttpServer(
  settings: Settings,
  logger: Logger,
  dataPlane: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): FastifyInstance {
  const app: FastifyInstance = Fastify({
    serverFactory: (fastifyHandler: RequestListener) => {
      // Node checks the header and request timeouts on this interval (its default, 30 s, would let a
      // stalled client sit for half a minute past its timeout).
      const connectionsCheckingInterval = Math.min(1000, Math.max(50, Math.floor(settings.requestTimeoutMs / 4)));
      const server = createServer({ connectionsCheckingInterval }, (req, res) => {
        if (!dataPlane(req, res)) fastifyHandler(req, res);
      });
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      // Headers must arrive within the request timeout; the data plane times its bodies itself (a
      // catalogued 408), Node's own request timeout is the safety net for every other route.
      server.headersTimeout = settings.requestTimeoutMs;
      server.requestTimeout = settings.requestTimeoutMs + 5000;
      // Beyond this many open connections, new ones are closed at once: slow or idle clients cannot
      // exhaust the process's file descriptors.
      server.maxConnections = settings.maxConnections;
      return server;
    },
    // Malformed HTTP, oversized headers, a request timed out before any route: the catalog's shape.
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => answerClientError(err, socket),
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, written by our own hooks rather than Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.maxBodyBytes,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // Errors Fastify answers before any route runs (a malformed URL, a bad Content-Type header):
    // in the catalog's shape like every other error.
    frameworkErrors: (err, request, untypedReply) => {
      const reply = untypedReply as FastifyReply;
      const error = asCatalogued(err, settings.maxBodyBytes) ?? new TollgateError('invalid_request', err.message);
      reply.header('x-request-id', request.id);
      return reply.code(error.status).send(errorBody(error));
    },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    // The data plane writes its own, richer line per request.
    if (!request.url.startsWith('/openai/') && !request.url.startsWith('/anthropic/')) {
      request.log.info({ method: request.method, url: request.url, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) }, 'request');
    }
  });

  app.setErrorHandler((err: FastifyError | TollgateError, request, reply) => {
    const error = asCatalogued(err, settings.maxBodyBytes);
    if (error) {
      if (error.options.headers) reply.headers(error.options.headers);
      return reply.code(error.status).send(errorBody(error));
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).send(errorBody(new TollgateError('internal_error', `Internal error; quote request id ${request.id} when reporting it.`)));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new TollgateError('route_not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`);
    // An Anthropic client gets its own error shape, so its SDK reports the message.
    if (request.url.startsWith('/anthropic/')) return reply.code(404).send(anthropicErrorBody(error, request.id));
    return reply.code(404).send(errorBody(error));
  });

  return app;
}

/** Answers an error Node's HTTP parser raised before any route saw the request, then closes the connection. */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new TollgateError('headers_too_large', 'The request headers are too large.')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new TollgateError('request_timeout', 'The request did not arrive in time.')
        : new TollgateError('invalid_request', 'Malformed HTTP request.');
  const body = JSON.stringify(errorBody(error));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Framework errors (body parsing, size) become catalogued ones; anything else is unexpected. */
function asCatalogued(err: FastifyError | TollgateError, maxBodyBytes: number): TollgateError | null {
  if (err instanceof TollgateError) return err;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
    return new TollgateError('request_too_large', `The request body is larger than the limit of ${maxBodyBytes} bytes.`);
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415) {
    return new TollgateError('invalid_request', 'Send the request body as JSON (Content-Type: application/json).');
  }
  if (err.statusCode === 400) return new TollgateError('invalid_request', err.message);
  return null;
}
