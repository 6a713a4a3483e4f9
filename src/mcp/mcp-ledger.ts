import type { Logger } from 'pino';
import type { SequentialIds } from '../domain/ids.js';
import type { McpCallEntry, McpOutcome, McpStore } from '../store/mcp-store.js';

/** What one MCP message through the proxy did: for the call ledger, the metrics and the log line. */
export interface McpCallRecord {
  requestId: string;
  startedAtMs: number;
  durationMs: number;
  /** The gateway's name (metrics, log lines) and id (the ledger files its rows under it: names can be reused). */
  gateway?: string;
  gatewayId?: string;
  project?: string;
  server: string;
  /** The JSON-RPC method; `response` for a client's answer; the HTTP method for GET and DELETE. */
  method: string;
  tool: string | null;
  status: number;
  outcome: McpOutcome;
  errorCode: string | null;
  upstreamMs: number | null;
  session: string | null;
}

/** Told about every finished MCP exchange, on the request path: must not block or do I/O. */
export interface McpCallObserver {
  mcpCallFinished(record: Readonly<McpCallRecord>): void;
}

export interface McpCallLedgerOptions {
  flushIntervalMs: number;
  /** Entries written per flush at most (the rest wait for the next one). */
  batchSize: number;
  /** Entries held at most; beyond, new ones are dropped (and counted), never the request. */
  maxQueue: number;
  onDropped?: (count: number) => void;
  /** Calls older than this many days are deleted, hourly (the token ledger's retention). */
  retentionDays?: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * The MCP call ledger's writer: rows are queued on the request path and written in batches off it,
 * like the token ledger (src/usage/ledger-writer.ts); a failed write is retried at the next flush.
 * JSON-RPC messages without a known project (no or wrong key) are in the metrics only.
 */
export class McpCallLedger implements McpCallObserver {
  private queue: McpCallEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private lastAt = 0;

  constructor(
    private readonly store: McpStore,
    private readonly ids: SequentialIds,
    private readonly logger: Logger,
    private readonly options: McpCallLedgerOptions,
  ) {}

  mcpCallFinished(r: Readonly<McpCallRecord>): void {
    if (r.gatewayId === undefined || r.project === undefined) return;
    if (this.queue.length >= this.options.maxQueue) {
      this.options.onDropped?.(1);
      return;
    }
    const at = (this.lastAt = Math.max(this.lastAt, Math.round(r.startedAtMs + r.durationMs)));
    this.queue.push({
      id: this.ids.next(at),
      atMs: at,
      requestId: r.requestId,
      gateway: r.gatewayId,
      project: r.project,
      server: r.server,
      method: r.method,
      tool: r.tool,
      status: r.status,
      outcome: r.outcome,
      errorCode: r.errorCode,
      latencyMs: r.durationMs,
      upstreamMs: r.upstreamMs,
      session: r.session,
    });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
    const days = this.options.retentionDays;
    if (days !== undefined && this.pruneTimer === null) {
      this.pruneTimer = setInterval(() => void this.prune(days), HOUR);
      this.pruneTimer.unref();
    }
  }

  private async prune(days: number): Promise<void> {
    try {
      const deleted = await this.store.pruneCalls(Date.now() - days * DAY);
      if (deleted > 0) this.logger.info({ deleted, retentionDays: days }, 'MCP call ledger pruned');
    } catch (err) {
      this.logger.error({ err }, 'MCP call ledger pruning failed; will retry');
    }
  }

  /** Writes what is queued; flushes never overlap. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.options.batchSize);
        try {
          await this.store.appendCalls(batch);
        } catch (err) {
          this.logger.error({ err, entries: batch.length }, 'MCP call ledger write failed; will retry');
          return;
        }
        this.queue = this.queue.slice(batch.length);
      }
    });
    return this.writing;
  }

  /** Writes everything left; call once no request is in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = this.pruneTimer = null;
    await this.flush();
    if (this.queue.length > 0) await this.flush();
    if (this.queue.length > 0) throw new Error(`${this.queue.length} MCP call ledger entries could not be written`);
  }
}
