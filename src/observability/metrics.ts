import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ExchangeObserver, ExchangeRecord } from '../dataplane/exchange-observer.js';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Prometheus metrics. Labels are names only (gateway, project, deployment, outcome), never keys or
 * ids, so cardinality stays that of the configuration. Requests without a known project are
 * labelled "none".
 */
/** The label children of one (gateway, project, deployment), resolved once rather than per request. */
interface Series {
  gateway: string;
  project: string;
  deployment: string;
  requests: Map<string, Counter.Internal>;
  prompt: Counter.Internal;
  completion: Counter.Internal;
  duration: Histogram.Internal<string>;
  upstream: Histogram.Internal<string>;
}

export class Metrics implements ExchangeObserver {
  private readonly series = new Map<string, Series>();
  readonly registry = new Registry();
  private readonly requests: Counter<'gateway' | 'project' | 'deployment' | 'outcome'>;
  private readonly tokens: Counter<'gateway' | 'project' | 'deployment' | 'type'>;
  private readonly duration: Histogram<'gateway' | 'deployment'>;
  private readonly upstreamDuration: Histogram<'gateway' | 'deployment'>;
  private readonly decisions: Counter<'decision'>;
  readonly ledgerDropped: Counter;
  readonly limiterBackendUp: Gauge;
  readonly limiterFallback: Counter;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'tollgate_requests_total',
      help: 'Data-plane requests by outcome (ok, rate_limited, quota_exceeded, rejected, upstream_error, client_aborted).',
      labelNames: ['gateway', 'project', 'deployment', 'outcome'],
      registers,
    });
    this.tokens = new Counter({
      name: 'tollgate_tokens_total',
      help: 'Tokens used (as settled), by type: prompt or completion.',
      labelNames: ['gateway', 'project', 'deployment', 'type'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from request to the end of the response, gateway and upstream together.',
      labelNames: ['gateway', 'deployment'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'tollgate_upstream_duration_seconds',
      help: 'Time spent waiting on and reading from the upstream.',
      labelNames: ['gateway', 'deployment'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'tollgate_limiter_decisions_total',
      help: 'Limiter decisions for governed requests: admitted, rate_limited (429) or quota_exceeded (403).',
      labelNames: ['decision'],
      registers,
    });
    this.limiterBackendUp = new Gauge({
      name: 'tollgate_limiter_backend_up',
      help: '1 while the shared (Redis) limiter answers, 0 while the failure policy applies.',
      registers,
    });
    this.limiterFallback = new Counter({
      name: 'tollgate_limiter_fallback_total',
      help: 'Limit decisions not made by the shared limiter (decided locally, or refused with 503).',
      registers,
    });
    this.ledgerDropped = new Counter({
      name: 'tollgate_ledger_dropped_total',
      help: 'Ledger entries dropped because the write queue was full (the store could not keep up).',
      registers,
    });
  }

  exchangeFinished(r: Readonly<ExchangeRecord>): void {
    const series = this.seriesOf(r.gateway ?? 'none', r.project ?? 'none', r.deployment ?? 'none');
    let requests = series.requests.get(r.outcome);
    if (!requests) series.requests.set(r.outcome, (requests = this.requests.labels(series.gateway, series.project, series.deployment, r.outcome)));
    requests.inc();
    if (r.promptTokens) series.prompt.inc(r.promptTokens);
    if (r.completionTokens) series.completion.inc(r.completionTokens);
    series.duration.observe(r.durationMs / 1000);
    if (r.upstreamMs !== undefined) series.upstream.observe(r.upstreamMs / 1000);
    if (r.reservedTokens !== undefined) this.decisions.inc({ decision: 'admitted' });
    else if (r.outcome === 'rate_limited' || r.outcome === 'quota_exceeded') this.decisions.inc({ decision: r.outcome });
  }

  private seriesOf(gateway: string, project: string, deployment: string): Series {
    const key = `${gateway}\u0000${project}\u0000${deployment}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        gateway,
        project,
        deployment,
        requests: new Map(),
        prompt: this.tokens.labels(gateway, project, deployment, 'prompt'),
        completion: this.tokens.labels(gateway, project, deployment, 'completion'),
        duration: this.duration.labels(gateway, deployment),
        upstream: this.upstreamDuration.labels(gateway, deployment),
      };
      this.series.set(key, s);
    }
    return s;
  }
}
