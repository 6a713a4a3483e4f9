import type { FastifyInstance } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import pino, { type Logger } from 'pino';
import { Agent } from 'undici';
import type { Settings } from '../config/settings.js';
import { AdminService } from '../controlplane/admin-service.js';
import { adminRoutes } from '../controlplane/admin-routes.js';
import { ConfigService } from '../controlplane/config/config-service.js';
import { createDataPlane } from '../dataplane/http.js';
import type { Limiter } from '../limits/limiter.js';
import { createProviderRegistry } from '../providers/registry.js';
import { loadSecretKey, SecretBox } from '../security/secret-box.js';
import type { ServedInstances } from '../snapshot/build-snapshot.js';
import { SnapshotSource } from '../snapshot/snapshot-source.js';
import { openConfiguredStore } from '../store/open-configured-store.js';
import type { Store } from '../store/store.js';
import { authThrottled } from '../errors.js';
import { AuthThrottle, clientAddress } from '../security/auth-throttle.js';
import { ensureAdminToken } from './bootstrap.js';
import { ConnectionTracker } from './connections.js';
import { consoleRoutes } from './console-routes.js';
import { NodeRegistry } from '../cluster/node-registry.js';
import { TollgateError } from '../errors.js';
import { VERSION } from '../version.js';
import { Metrics } from '../observability/metrics.js';
import { SequentialIds } from '../domain/ids.js';
import { LEDGER_ID_PREFIX } from '../usage/ledger.js';
import { LedgerRecorder } from '../usage/ledger-recorder.js';
import { LedgerRetention } from '../usage/ledger-retention.js';
import { LedgerWriter } from '../usage/ledger-writer.js';
import { createHttpServer } from './http-server.js';
import { BackendPicker } from '../dataplane/backends/backend-picker.js';
import { MemoryBreakerStates } from '../dataplane/backends/circuit-breaker.js';
import { backendMetricsSource } from '../dataplane/backends/backend-metrics.js';
import { poolBreakerKeys, RedisBreakerStates } from '../dataplane/backends/redis-breaker-states.js';
import { openLimiterBackend, type LimiterBackend } from './limiter-backend.js';
import { startAgents } from '../agents/agent-plane.js';
import { agentLimitSeeds } from '../agents/agent-limit-seeds.js';
import { createMcpProxy } from '../mcp/mcp-proxy.js';
import { McpCallLedger } from '../mcp/mcp-ledger.js';

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
  /** The configuration as one declarative document: export and apply. */
  readonly config: ConfigService;
  readonly snapshots: SnapshotSource;
  readonly limiter: Limiter;
  readonly metrics: Metrics;
  /** null when TOLLGATE_LEDGER=off. */
  readonly ledger: LedgerWriter | null;
  readonly logger: Logger;
  /** Set when start-up generated the first owner token; shown once. */
  readonly generatedAdminToken: string | null;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Assembles one node: store, config snapshots, control plane and data plane on one HTTP server. */
export async function createTollgate(options: TollgateOptions): Promise<Tollgate> {
  const { settings } = options;
  // Log lines are buffered (4 KiB) rather than written one syscall per request; flushed at close.
  const logger =
    options.logger ??
    pino({ level: settings.logLevel, base: { service: 'tollgate' } }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const store = options.store ?? (await openConfiguredStore(settings, (err) => logger.warn({ err }, 'store error (background)')));
  await store.migrate();
  if (settings.databaseUrl && !settings.secretKey) {
    throw new Error('TOLLGATE_SECRET_KEY is required with DATABASE_URL: every node must share the key that seals upstream credentials');
  }
  const secrets = new SecretBox(loadSecretKey(settings.secretKey, settings.dataDir === ':memory:' ? undefined : settings.dataDir));
  const generatedAdminToken = await ensureAdminToken(store, settings.adminToken, (message) => logger.warn(message));

  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1 });
  const providers = createProviderRegistry({ dispatcher, timeoutMs: settings.upstreamTimeoutMs });
  const snapshots = new SnapshotSource({ store, secrets, served: options.served, logger, pollIntervalMs: settings.configPollMs });
  await snapshots.refresh();
  await snapshots.start();
  const metrics = new Metrics();
  const ledgerIds = new SequentialIds(LEDGER_ID_PREFIX);
  const backend: LimiterBackend = options.limiter
    ? { limiter: options.limiter, close: () => options.limiter!.close() }
    : await openLimiterBackend(settings, store, logger, metrics, {
        snapshots,
        ledgerPosition: settings.ledger === 'on' ? () => ledgerIds.last : undefined,
        // Agent limits count on the same limiter; their use is in the agent ledger.
        otherStandings: (now) => agentLimitSeeds(store.agents, snapshots.current.agents, now),
      });
  const limiter = backend.limiter;
  let ledger: LedgerWriter | null = null;
  if (settings.ledger === 'on') {
    ledger = new LedgerWriter(store.usage, logger, {
      flushIntervalMs: settings.ledgerFlushMs,
      batchSize: 1000,
      maxQueue: 100_000,
      onDropped: (n, reason) => metrics.ledgerDropped.inc({ reason }, n),
      writer: ledgerIds.node,
      rollupIntervalMs: settings.ledgerRollupMs,
      staleMarkMs: 120_000,
      recoverEveryMs: 60_000,
      // The embedded store has one writer, this process: marks left there are a previous run's.
      soleWriter: settings.databaseUrl === undefined,
    });
    ledger.start();
  }
  const retention = new LedgerRetention(store.usage, logger, settings.ledgerRetentionDays);
  retention.start();
  const service = new AdminService({
    store,
    secrets,
    providers,
    onConfigChange: () => snapshots.refresh(),
    defaultCompletionReservation: settings.defaultCompletionReservation,
  });
  const config = new ConfigService({ store, service, secrets, providers });

  // One count of failed authentications per client address, for keys, admin tokens and the metrics token.
  const authThrottle = new AuthThrottle({ maxFailures: settings.authFailuresPerMinute, windowMs: 60_000 });
  // In a cluster, breaker state is shared through the limiter's Redis client (docs/backends.md).
  // (Its module holds no Redis client: the limiter's is reused.)
  const breakers = backend.redis ? new RedisBreakerStates({ redis: backend.redis, keyPrefix: settings.redisPrefix, logger }) : new MemoryBreakerStates();
  const backendPicker = new BackendPicker(breakers);
  metrics.watchBackends(backendMetricsSource(backendPicker, snapshots));
  if (breakers instanceof RedisBreakerStates) {
    breakers.watch(poolBreakerKeys(snapshots.current));
    snapshots.onPublish((s) => breakers.watch(poolBreakerKeys(s)));
  }
  const dataPlane = createDataPlane(
    {
      snapshots,
      providers,
      limiter,
      governance: { defaultCompletionReservation: settings.defaultCompletionReservation },
      observers: ledger ? [metrics, new LedgerRecorder(ledger, ledgerIds)] : [metrics],
      logger,
      maxUpstreamBodyBytes: settings.maxUpstreamBodyBytes,
      backends: backendPicker,
    },
    { maxBodyBytes: settings.maxBodyBytes, requestTimeoutMs: settings.requestTimeoutMs, authThrottle, trustProxy: settings.trustProxy, logger },
  );
  // MCP servers through the gateway (docs/mcp.md): /mcp/{server}, with its own call ledger.
  const mcpLedger = settings.ledger === 'on'
    ? new McpCallLedger(store.mcp, new SequentialIds('mcp'), logger, { flushIntervalMs: settings.ledgerFlushMs, batchSize: 500, maxQueue: 100_000, onDropped: (n) => metrics.ledgerDropped.inc({ reason: 'mcp_queue_full' }, n), retentionDays: settings.ledgerRetentionDays })
    : null;
  mcpLedger?.start();
  const mcpProxy = createMcpProxy({
    snapshots,
    limiter,
    dispatcher,
    observers: mcpLedger ? [metrics, mcpLedger] : [metrics],
    logger,
    authThrottle,
    trustProxy: settings.trustProxy,
    maxBodyBytes: settings.maxBodyBytes,
    requestTimeoutMs: settings.requestTimeoutMs,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    maxUpstreamBodyBytes: settings.maxUpstreamBodyBytes,
  });
  const agents = startAgents({ settings, store, snapshots, limiter, metrics, logger, authThrottle });
  const app = createHttpServer(settings, logger, (req, res) => agents.proxy.handle(req, res) || dataPlane.handle(req, res) || mcpProxy.handle(req, res));
  const nodes = new NodeRegistry(store, logger, {
    instance: options.served === 'all' ? null : [...options.served].join(','),
    version: VERSION,
    heartbeatMs: settings.heartbeatMs,
    address: () => {
      const a = app.server.address();
      return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
    },
    configVersion: () => snapshots.current.version,
  });
  const connections = new ConnectionTracker(app.server);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await store.configVersion();
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'store unreachable' });
    }
    return { status: 'ready', configVersion: snapshots.current.version };
  });
  app.get('/metrics', async (request, reply) => {
    if (settings.metricsToken) {
      const address = clientAddress(request.raw, settings.trustProxy);
      const wait = authThrottle.retryAfter(address);
      if (wait > 0) throw authThrottled(wait);
      if (request.headers.authorization !== `Bearer ${settings.metricsToken}`) {
        authThrottle.failed(address);
        throw new TollgateError('unauthorized', 'metrics need Authorization: Bearer <TOLLGATE_METRICS_TOKEN>');
      }
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await app.register(adminRoutes, {
    prefix: '/admin/v1',
    service,
    config,
    store,
    limiter,
    heartbeatMs: settings.heartbeatMs,
    authThrottle,
    trustProxy: settings.trustProxy,
    backends: backendPicker,
    agents: agents.monitor,
    publicUrl: settings.publicUrl,
  });
  await app.register(consoleRoutes);

  let closed = false;
  return {
    app,
    store,
    service,
    config,
    snapshots,
    limiter,
    metrics,
    ledger,
    logger,
    generatedAdminToken,
    async listen() {
      const address = await app.listen({ port: settings.port, host: settings.host });
      await nodes.start();
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Each step runs whatever an earlier one did; what failed is reported at the end, so a
      // stop that could not write everything never passes for a clean one.
      const failures: string[] = [];
      const step = async (what: string, run: () => Promise<void> | void) => {
        try {
          await run();
        } catch (err) {
          failures.push(`${what}: ${(err as Error).message}`);
          logger.error({ err }, `shutdown: ${what} failed`);
        }
      };
      await step('node registry', () => nodes.stop());
      await step('config snapshots', () => snapshots.stop());
      dataPlane.beginClose();
      agents.proxy.beginClose();
      mcpProxy.beginClose();
      await step('draining requests', () => closeGracefully(app, connections, settings.shutdownGraceMs));
      await step('upstream connections', () => dispatcher.close());
      // Every request has finished: write what the ledger still holds.
      if (ledger) await step('request ledger', () => ledger!.stop());
      await step('agents', () => agents.stop());
      if (mcpLedger) await step('MCP call ledger', () => mcpLedger.stop());
      retention.stop();
      // After the last request has settled: a checkpoint then holds the final counts.
      if (breakers instanceof RedisBreakerStates) await step('circuit breakers', () => breakers.close());
      await step('limiter', () => backend.close());
      await step('store', () => store.close());
      // Bounded: a log destination that cannot take more must not hold the stop forever.
      await Promise.race([new Promise<void>((resolve) => logger.flush(() => resolve())), sleep(1000)]);
      if (failures.length > 0) throw new ShutdownIncomplete(failures);
    },
  };
}

/** A stop that could not write everything it held: the process must not exit 0. */
export class ShutdownIncomplete extends Error {
  constructor(readonly failures: readonly string[]) {
    super(`shutdown incomplete: ${failures.join('; ')}`);
    this.name = 'ShutdownIncomplete';
  }
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

