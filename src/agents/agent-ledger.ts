import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { SequentialIds } from '../domain/ids.js';
import type { AgentStore } from '../store/agent-store.js';
import type { AgentRequestRecord } from './agent-model.js';

/** One finished agent request, as the proxy reports it. */
/** A finished agent request: `gateway` is the gateway's id (the ledger's key), `gatewayName` labels the metric. */
export type AgentExchange = Omit<AgentRequestRecord, 'id'> & { gatewayName: string };

/**
 * The agent request ledger: rows are queued on the request path and written in batches off it
 * (every `flushMs`, and at stop). A queue past `maxQueue` drops the newest rows (counted in the
 * log) rather than grow without bound while the store is down. Every request is also counted in
 * `tollgate_agent_requests_total`, whether or not the ledger is on.
 */
export class AgentLedger {
  private queue: AgentRequestRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly ids = new SequentialIds('agr');
  private readonly requests: Counter<'gateway' | 'agent' | 'project' | 'outcome'>;
  private dropped = 0;

  constructor(
    private readonly store: AgentStore | null,
    private readonly logger: Logger,
    registry: Registry,
    private readonly options: { flushMs: number; maxQueue: number },
  ) {
    this.requests = new Counter({
      name: 'tollgate_agent_requests_total',
      help: 'Requests proxied to custom agents (or refused), by gateway, agent, project and outcome.',
      labelNames: ['gateway', 'agent', 'project', 'outcome'],
      registers: [registry],
    });
  }

  record(e: AgentExchange): void {
    const { gatewayName, ...row } = e;
    this.requests.inc({ gateway: gatewayName, agent: e.agent, project: e.project, outcome: e.outcome });
    if (this.store === null) return;
    if (this.queue.length >= this.options.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push({ id: this.ids.next(e.atMs), ...row });
  }

  start(): void {
    if (this.store === null || this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Writes what is queued; one write at a time. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.store === null || this.queue.length === 0) return Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    const store = this.store;
    this.flushing = (async () => {
      try {
        for (let i = 0; i < batch.length; i += 500) await store.insertRequests(batch.slice(i, i + 500));
      } catch (err) {
        // Kept for the next flush, in front of what came since (bounded by maxQueue).
        this.queue = [...batch, ...this.queue].slice(0, this.options.maxQueue);
        this.logger.warn({ err, rows: batch.length }, 'agent ledger write failed; retrying at the next flush');
      } finally {
        this.flushing = null;
      }
      if (this.dropped > 0) {
        this.logger.warn({ dropped: this.dropped }, 'agent ledger queue full: rows dropped');
        this.dropped = 0;
      }
    })();
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }
}
