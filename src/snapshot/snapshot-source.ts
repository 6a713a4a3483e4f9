import type { Logger } from 'pino';
import type { SecretBox } from '../security/secret-box.js';
import type { Store } from '../store/store.js';
import { warmEncodings } from '../accounting/count.js';
import { buildSnapshot, type ServedInstances } from './build-snapshot.js';
import { EMPTY_SNAPSHOT, type ConfigSnapshot } from './config-snapshot.js';

export interface SnapshotSourceOptions {
  store: Store;
  secrets: SecretBox;
  served: ServedInstances;
  logger: Logger;
  /** Safety net: how often to compare the stored config version with ours. */
  pollIntervalMs: number;
}

/**
 * Keeps this node's config snapshot current. The control plane calls refresh() after each change
 * it commits (so the very next request sees it); a periodic version check picks up changes made
 * by other processes. Once a snapshot is live, provisioning gateways this node serves become
 * enabled: "a live node of its instance has loaded its configuration".
 */
export class SnapshotSource {
  private snapshot: ConfigSnapshot = EMPTY_SNAPSHOT;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => Promise<void>) | null = null;
  private readonly listeners = new Set<(s: ConfigSnapshot) => void>();

  constructor(private readonly options: SnapshotSourceOptions) {}

  get current(): ConfigSnapshot {
    return this.snapshot;
  }

  onPublish(listener: (s: ConfigSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads and publishes the latest config. Concurrent calls coalesce into at most one more load. */
  refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      try {
        do {
          this.again = false;
          await this.load();
        } while (this.again);
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  /**
   * Follows changes made elsewhere: pushed notifications where the store has them (PostgreSQL
   * LISTEN/NOTIFY: milliseconds), and a periodic version check as the safety net.
   */
  async start(): Promise<void> {
    if (this.timer) return;
    if (this.options.store.watchConfig) {
      this.unwatch = await this.options.store.watchConfig((version) => {
        if (version !== this.snapshot.version) void this.refresh().catch((err: unknown) => this.options.logger.error({ err }, 'config reload failed'));
      });
    }
    this.timer = setInterval(() => {
      void this.checkVersion().catch((err: unknown) => this.options.logger.error({ err }, 'config version check failed'));
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.unwatch?.();
    this.unwatch = null;
  }

  private async checkVersion(): Promise<void> {
    const version = await this.options.store.configVersion();
    if (version !== this.snapshot.version) await this.refresh();
  }

  private async load(): Promise<void> {
    const { store, secrets, served, logger } = this.options;
    const records = await store.loadConfig();
    if (records.version === this.snapshot.version && this.snapshot !== EMPTY_SNAPSHOT) return;
    const next = buildSnapshot(records, secrets, served);
    warmEncodings(records.deployments.map((d) => d.upstreamModel ?? d.name));
    this.snapshot = next;
    logger.debug({ configVersion: next.version }, 'config snapshot published');
    for (const listener of this.listeners) listener(next);

    // This node now serves these gateways: mark the ones still provisioning as enabled.
    const provisioning = records.gateways.filter((g) => g.status === 'provisioning' && next.gateways.has(g.name));
    for (const g of provisioning) {
      await store.setGatewayStatus(g.id, 'enabled');
      logger.info({ gateway: g.name }, 'gateway enabled');
    }
  }
}
