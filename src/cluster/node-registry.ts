import type { Logger } from 'pino';
import { newId } from '../domain/ids.js';
import type { NodeRecord } from '../domain/model.js';
import type { Store } from '../store/store.js';

/** A node missing this many heartbeats in a row is reported stale. */
const MISSED_BEATS = 3;
/** Stale nodes are forgotten after an hour. */
const FORGET_AFTER_MS = 3_600_000;

export interface NodeRegistryOptions {
  instance: string | null;
  version: string;
  heartbeatMs: number;
  /** The address other nodes and admins can reach this node at, once listening. */
  address: () => string;
  configVersion: () => number;
}

/**
 * This node's entry in the shared node table: registered at start, refreshed every heartbeat
 * with the config version it serves, removed on a graceful stop.
 */
export class NodeRegistry {
  readonly id = newId('node');
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly options: NodeRegistryOptions,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      void this.beat().catch((err: unknown) => this.logger.warn({ err }, 'node heartbeat failed'));
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  async beat(): Promise<void> {
    const now = Date.now();
    await this.store.upsertNode(this.record(new Date(now).toISOString()));
    await this.store.deleteStaleNodes(new Date(now - FORGET_AFTER_MS).toISOString());
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.store.deleteNode(this.id).catch((err: unknown) => this.logger.warn({ err }, 'node deregistration failed'));
  }

  private record(heartbeatAt: string): NodeRecord {
    return {
      id: this.id,
      instance: this.options.instance,
      address: this.options.address(),
      version: this.options.version,
      configVersion: this.options.configVersion(),
      startedAt: this.startedAt,
      heartbeatAt,
    };
  }
}

/** A node is live while its heartbeats keep coming. */
export function isLive(node: NodeRecord, heartbeatMs: number, now = Date.now()): boolean {
  return now - Date.parse(node.heartbeatAt) <= MISSED_BEATS * heartbeatMs;
}
