import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { Settings } from '../config/settings.js';
import type { Limiter } from '../limits/limiter.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuthThrottle } from '../security/auth-throttle.js';
import type { SnapshotSource } from '../snapshot/snapshot-source.js';
import type { Store } from '../store/store.js';
import { AgentLedger } from './agent-ledger.js';
import { AgentMonitor } from './agent-monitor.js';
import { createAgentProxy, type AgentProxy } from './agent-proxy.js';

export interface AgentPlane {
  readonly proxy: AgentProxy;
  readonly monitor: AgentMonitor;
  readonly ledger: AgentLedger;
  /** After the requests have drained: stops the health checks, writes the ledger, closes connections. */
  stop(): Promise<void>;
}

/** The agents' part of a node: the proxy on the data plane, its health checks and its ledger. */
export function startAgents(deps: {
  settings: Settings;
  store: Store;
  snapshots: SnapshotSource;
  limiter: Limiter;
  metrics: Metrics;
  logger: Logger;
  authThrottle: AuthThrottle;
}): AgentPlane {
  const { settings, logger } = deps;
  // Agents' connections apart from the model upstreams': a slow agent never queues a model call.
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
  const monitor = new AgentMonitor(() => deps.snapshots.current, dispatcher, logger, {
    intervalMs: settings.agentHealthMs,
    timeoutMs: Math.min(5000, settings.upstreamTimeoutMs),
  });
  const ledger = new AgentLedger(settings.ledger === 'on' ? deps.store.agents : null, logger, deps.metrics.registry, {
    flushMs: Math.max(settings.ledgerFlushMs, 200),
    maxQueue: 100_000,
  });
  const proxy = createAgentProxy({
    snapshots: deps.snapshots,
    limiter: deps.limiter,
    monitor,
    ledger,
    dispatcher,
    logger,
    authThrottle: deps.authThrottle,
    trustProxy: settings.trustProxy,
    maxBodyBytes: settings.maxBodyBytes,
    requestTimeoutMs: settings.requestTimeoutMs,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    publicUrl: settings.publicUrl,
  });
  const unsubscribe = deps.snapshots.onPublish(() => monitor.onSnapshot());
  monitor.start();
  ledger.start();
  return {
    proxy,
    monitor,
    ledger,
    async stop() {
      unsubscribe();
      monitor.stop();
      await ledger.stop();
      await dispatcher.close();
    },
  };
}
