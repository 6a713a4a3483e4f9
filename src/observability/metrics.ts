import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ExchangeObserver, ExchangeRecord } from '../dataplane/exchange-observer.js';
import { CellHistogram, type HistogramCell } from './cell-histogram.js';
import type { McpCallRecord } from '../mcp/mcp-ledger.js';

/** Distinct tool labels of tollgate_mcp_calls_total per MCP server; later names count as `(other)`. */
const MAX_TOOL_LABELS = 200;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * One (gateway, project, deployment): its histogram cells, resolved once, and its counts since
 * the last scrape. prom-client hashes a child's labels into a string on every inc(), which costs
 * more than all the rest of the bookkeeping; the counts are plain numbers here, added to the
 * counters when Prometheus (or anyone) reads them.
 */
interface Series {
  gateway: string;
  project: string;
  deployment: string;
  requests: Partial<Record<ExchangeRecord['outcome'], number>>;
  prompt: number;
  completion: number;
  duration: HistogramCell;
  upstream: HistogramCell;
  /** Cost since the node started, exact, in micro-units per currency. */
  cost: Map<string, number> | null;
}

type Decision = 'admitted' | 'rate_limited' | 'quota_exceeded';

/** What the data plane tells the metrics of its backends, when they are read (docs/backends.md). */
export interface BackendSource {
  /** Cumulative calls by outcome, per (deployment, backend), since the node started. */
  counts(): Iterable<{ readonly deployment: string; readonly backend: string } & Readonly<Record<BackendOutcomeLabel, number>>>;
  /** The breaker of each backend of the pools served: 0 closed, 1 half-open, 2 open. */
  states(): Iterable<{ readonly deployment: string; readonly backend: string; readonly state: 0 | 1 | 2 }>;
}
const BACKEND_OUTCOMES = ['ok', 'failed_over', 'error', 'tripped_skip'] as const;
type BackendOutcomeLabel = (typeof BACKEND_OUTCOMES)[number];

/**
 * Prometheus metrics. Labels are names only (gateway, project, deployment, outcome), never keys or
 * ids, so cardinality stays that of the configuration. Requests without a known project are
 * labelled "none".
 */
export class Metrics implements ExchangeObserver {
  private readonly series = new Map<string, Series>();
  /** Series with counts not yet added to the counters. */
  private readonly unsynced = new Set<Series>();
  private readonly pendingDecisions: Record<Decision, number> = { admitted: 0, rate_limited: 0, quota_exceeded: 0 };
  readonly registry = new Registry();
  private readonly requests: Counter<'gateway' | 'project' | 'deployment' | 'outcome'>;
  private readonly tokens: Counter<'gateway' | 'project' | 'deployment' | 'type'>;
  private readonly duration: CellHistogram<'gateway' | 'deployment'>;
  private readonly upstreamDuration: CellHistogram<'gateway' | 'deployment'>;
  private readonly decisions: Counter<'decision'>;
  readonly ledgerDropped: Counter<'reason'>;
  readonly limiterBackendUp: Gauge;
  readonly limiterFallback: Counter;
  /** Series that have cost (few: only priced deployments). */
  private readonly costed = new Set<Series>();
  private backendSource: BackendSource | null = null;
  /** MCP tool calls through /mcp/{server} (docs/mcp.md). */
  private readonly mcpCalls: Counter<'gateway' | 'project' | 'server' | 'tool' | 'outcome'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const collect = () => this.sync();
    this.mcpCalls = new Counter({
      name: 'tollgate_mcp_calls_total',
      help: 'MCP tools/call requests through /mcp/{server}, by outcome (ok, rate_limited, quota_exceeded, rejected, upstream_error, client_aborted).',
      labelNames: ['gateway', 'project', 'server', 'tool', 'outcome'],
      registers,
    });
    this.requests = new Counter({
      name: 'tollgate_requests_total',
      collect,
      help: 'Data-plane requests by outcome (ok, rate_limited, quota_exceeded, never_fits, rejected, upstream_error, client_aborted).',
      labelNames: ['gateway', 'project', 'deployment', 'outcome'],
      registers,
    });
    this.tokens = new Counter({
      name: 'tollgate_tokens_total',
      collect,
      help: 'Tokens used (as settled), by type: prompt or completion.',
      labelNames: ['gateway', 'project', 'deployment', 'type'],
      registers,
    });
    // Kept exact in micro-units and written whole on each read (the counter is reset, then set to
    // the total): a float counter fed by many small increments would drift from the ledger.
    const cost = new Counter({
      name: 'tollgate_cost_total',
      help: 'Cost of the requests (as settled), in units of the currency (e.g. dollars), exact to the micro-unit: prompt, cached input, cache writes and output at the deployment\'s prices.',
      labelNames: ['gateway', 'project', 'deployment', 'currency'],
      registers,
      collect: () => {
        cost.reset();
        for (const s of this.costed) {
          for (const [currency, micros] of s.cost!) cost.inc({ gateway: s.gateway, project: s.project, deployment: s.deployment, currency }, micros / 1e6);
        }
      },
    });
    this.duration = new CellHistogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request to the end of the response, gateway and upstream together.',
      labelNames: ['gateway', 'deployment'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.upstreamDuration = new CellHistogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time spent waiting on and reading from the upstream.',
      labelNames: ['gateway', 'deployment'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'tollgate_limiter_decisions_total',
      collect,
      help: 'Limiter decisions for governed requests: admitted, rate_limited (429) or quota_exceeded (403).',
      labelNames: ['decision'],
      registers,
    });
    this.limiterBackendUp = new Gauge({
      name: 'tollgate_limiter_backend_up',
      help: '1 while the limiter answers (the in-process one always does), 0 while the shared (Redis) one does not and the failure policy applies.',
      registers,
    });
    this.limiterFallback = new Counter({
      name: 'tollgate_limiter_fallback_total',
      help: 'Limit decisions not made by the shared limiter (decided locally, or refused with 503).',
      registers,
    });
    this.ledgerDropped = new Counter({
      name: 'tollgate_ledger_dropped_total',
      help: 'Ledger entries dropped, by reason: queue_full (the store could not keep up) or rejected (the store refused the entry itself).',
      labelNames: ['reason'],
      registers,
    });
    const backendRequests = new Counter({
      name: 'tollgate_backend_requests_total',
      help: 'Calls to the backends of pools, by outcome: ok (answer relayed), failed_over (failed, the request went on to another backend), error (failed, the last call of its request), tripped_skip (passed over: breaker open).',
      labelNames: ['deployment', 'backend', 'outcome'],
      registers,
      // The data plane counts in plain numbers (cumulative): copied here when read.
      collect: () => {
        if (!this.backendSource) return;
        backendRequests.reset();
        for (const c of this.backendSource.counts()) {
          for (const outcome of BACKEND_OUTCOMES) if (c[outcome]) backendRequests.inc({ deployment: c.deployment, backend: c.backend, outcome }, c[outcome]);
        }
      },
    });
    const backendState = new Gauge({
      name: 'tollgate_backend_state',
      help: "The circuit breaker of each backend of the pools served: 0 closed, 1 half-open, 2 open (shared by the nodes with Redis).",
      labelNames: ['deployment', 'backend'],
      registers,
      collect: () => {
        if (!this.backendSource) return;
        backendState.reset();
        for (const s of this.backendSource.states()) backendState.set({ deployment: s.deployment, backend: s.backend }, s.state);
      },
    });
    // Both series exist from the start, so an alert on either sees 0 before the first drop.
    for (const reason of ['queue_full', 'rejected'] as const) this.ledgerDropped.inc({ reason }, 0);
  }

  /** Where the backend metrics come from (the data plane's picker); read on every scrape. */
  watchBackends(source: BackendSource): void {
    this.backendSource = source;
  }

  /** Tool names labelled so far, per server: bounded, so a client cannot grow the series without end. */
  private readonly toolLabels = new Map<string, Set<string>>();

  private toolLabel(server: string, tool: string): string {
    let seen = this.toolLabels.get(server);
    if (!seen) this.toolLabels.set(server, (seen = new Set()));
    if (seen.has(tool)) return tool;
    if (seen.size >= MAX_TOOL_LABELS) return '(other)';
    seen.add(tool);
    return tool;
  }

  /** Counts tool calls (the MCP proxy's other messages are in its ledger only). */
  mcpCallFinished(r: Readonly<McpCallRecord>): void {
    if (r.method !== 'tools/call' || r.tool === null) return;
    // A tool refused by the allow-list is any name a client makes up: one label for them all. A
    // grant of every tool admits any name too, so each server keeps at most MAX_TOOL_LABELS.
    const tool = r.errorCode === 'mcp_access_denied' ? '(not allowed)' : this.toolLabel(r.server, r.tool);
    this.mcpCalls.inc({ gateway: r.gateway ?? 'none', project: r.project ?? 'none', server: r.server, tool, outcome: r.outcome });
  }

  exchangeFinished(r: Readonly<ExchangeRecord>): void {
    const series = this.seriesOf(r.gateway ?? 'none', r.project ?? 'none', r.deployment ?? 'none');
    series.requests[r.outcome] = (series.requests[r.outcome] ?? 0) + 1;
    if (r.promptTokens) series.prompt += r.promptTokens;
    if (r.completionTokens) series.completion += r.completionTokens;
    if (r.currency !== undefined) {
      series.cost ??= new Map();
      series.cost.set(r.currency, (series.cost.get(r.currency) ?? 0) + (r.costMicros ?? 0));
      this.costed.add(series);
    }
    this.unsynced.add(series);
    series.duration.observe(r.durationMs / 1000);
    if (r.upstreamMs !== undefined) series.upstream.observe(r.upstreamMs / 1000);
    // A refused request also names what it tried to reserve: admitted is a reservation with no refusal.
    if (r.refusal) this.pendingDecisions[r.refusal.kind === 'tpm' ? 'rate_limited' : 'quota_exceeded']++;
    else if (r.reservedTokens !== undefined) this.pendingDecisions.admitted++;
    else if (r.outcome === 'rate_limited' || r.outcome === 'quota_exceeded') this.pendingDecisions[r.outcome]++;
  }

  /** Adds the counts gathered since the last read to the counters (prom-client calls it on every read). */
  private sync(): void {
    for (const s of this.unsynced) {
      for (const [outcome, n] of Object.entries(s.requests)) if (n) this.requests.inc({ gateway: s.gateway, project: s.project, deployment: s.deployment, outcome }, n);
      if (s.prompt) this.tokens.inc({ gateway: s.gateway, project: s.project, deployment: s.deployment, type: 'prompt' }, s.prompt);
      if (s.completion) this.tokens.inc({ gateway: s.gateway, project: s.project, deployment: s.deployment, type: 'completion' }, s.completion);
      s.requests = {};
      s.prompt = s.completion = 0;
    }
    this.unsynced.clear();
    for (const decision of ['admitted', 'rate_limited', 'quota_exceeded'] as const) {
      if (this.pendingDecisions[decision]) this.decisions.inc({ decision }, this.pendingDecisions[decision]);
      this.pendingDecisions[decision] = 0;
    }
  }

  private seriesOf(gateway: string, project: string, deployment: string): Series {
    const key = `${gateway}\u0000${project}\u0000${deployment}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        gateway,
        project,
        deployment,
        requests: {},
        prompt: 0,
        completion: 0,
        duration: this.duration.cell({ gateway, deployment }),
        upstream: this.upstreamDuration.cell({ gateway, deployment }),
        cost: null,
      };
      this.series.set(key, s);
    }
    return s;
  }
}
