import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import { Agent } from 'undici';
import type { Settings } from '../config/settings.js';
import { AdminService } from '../controlplane/admin-service.js';
import { adminRoutes } from '../controlplane/admin-routes.js';
import { dataPlaneRoutes } from '../dataplane/routes.js';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { LimiterCheckpoint } from '../limits/checkpoint.js';
import { MemoryLimiter } from '../limits/memory-limiter.js';
import { createProviderRegistry } from '../providers/registry.js';
import { loadSecretKey, SecretBox } from '../security/secret-box.js';
import type { ServedInstances } from '../snapshot/build-snapshot.js';
import { SnapshotSource } from '../snapshot/snapshot-source.js';
import { openSqliteStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { ensureAdminToken } from './bootstrap.js';
import { ConnectionTracker } from './connections.js';
import { errorBody } from './error-body.js';

export interface TollgateOptions {
  settings: Settings;
  /** Which instances' gateways this node serves: 'all' for the embedded `start`. */
  served: ServedInstances;
  /** Defaults to the SQLite store in settings.dataDir. */
  store?: Store;
  /** Defaults to the in-process limiter. */
  limiter?: Limiter;
  logger?: Logger;
}

export interface Tollgate {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly service: AdminService;
  readonly snapshots: SnapshotSource;
  readonly limiter: Limiter;
  readonly logger: Logger;
  /** Set when start-up generated the first owner token; shown once. */
  readonly generatedAdminToken: string | null;
  listen(): Promise<string>;
  close(): Promise<void>;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Assembles one node: store, config snapshots, control plane and data plane on one HTTP server. */
export async function createTollgate(options: TollgateOptions): Promise<Tollgate> {
  const { settings } = options;
  const logger = options.logger ?? pino({ level: settings.logLevel, base: { service: 'tollgate' } });
  const store = options.store ?? openSqliteStore(settings.dataDir);
  await store.migrate();
  const secrets = new SecretBox(loadSecretKey(settings.secretKey, settings.dataDir === ':memory:' ? undefined : settings.dataDir));
  const generatedAdminToken = await ensureAdminToken(store, settings.adminToken);

  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1 });
  const providers = createProviderRegistry({ dispatcher, timeoutMs: settings.upstreamTimeoutMs });
  const snapshots = new SnapshotSource({ store, secrets, served: options.served, logger, pollIntervalMs: settings.configPollMs });
  await snapshots.refresh();
  snapshots.start();
  let limiter: Limiter;
  let checkpoint: LimiterCheckpoint | null = null;
  if (options.limiter) {
    limiter = options.limiter;
  } else {
    const memory = new MemoryLimiter({ reservationTtlMs: settings.reservationTtlMs });
    checkpoint = new LimiterCheckpoint(memory, store, logger, settings.limiterCheckpointMs);
    await checkpoint.restore();
    checkpoint.start();
    limiter = memory;
  }
  const service = new AdminService({ store, secrets, providers, onConfigChange: () => snapshots.refresh() });

  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request, written by our own hooks rather than Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.maxBodyBytes,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
  });

  const connections = new ConnectionTracker(app.server);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    // The data plane writes its own, richer line per request.
    if (!request.url.startsWith('/openai/')) {
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
    return reply.code(404).send(errorBody(error));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await store.configVersion();
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'store unreachable' });
    }
    return { status: 'ready', configVersion: snapshots.current.version };
  });
  await app.register(adminRoutes, { prefix: '/admin/v1', service, store });
  await app.register(dataPlaneRoutes, {
    snapshots,
    providers,
    limiter,
    governance: { defaultCompletionReservation: settings.defaultCompletionReservation },
  });

  let closed = false;
  return {
    app,
    store,
    service,
    snapshots,
    limiter,
    logger,
    generatedAdminToken,
    listen: () => app.listen({ port: settings.port, host: settings.host }),
    async close() {
      if (closed) return;
      closed = true;
      snapshots.stop();
      await closeGracefully(app, connections, settings.shutdownGraceMs);
      await dispatcher.close();
      // After the last request has settled: the checkpoint holds the final counts.
      await checkpoint?.stop();
      await limiter.close();
      await store.close();
    },
  };
}

/**
 * Stops accepting connections and lets in-flight requests (long streams included) finish, up to
 * the grace period; then cuts what is left. Connections are swept as they go idle, since keep-alive
 * clients would otherwise hold the server open.
 */
async function closeGracefully(app: FastifyInstance, connections: ConnectionTracker, graceMs: number): Promise<void> {
  connections.closeIdle();
  const sweep = setInterval(() => connections.closeIdle(), 50);
  const deadline = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
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
