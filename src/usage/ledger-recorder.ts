import type { ExchangeObserver, ExchangeRecord } from '../dataplane/exchange-observer.js';
import type { SequentialIds } from '../domain/ids.js';
import type { LedgerWriter } from './ledger-writer.js';

/**
 * Turns finished exchanges into ledger entries. Requests that never reached a project (no or bad
 * key) have no gateway to belong to: they are counted in the metrics, not kept in the ledger.
 */
export class LedgerRecorder implements ExchangeObserver {
  private lastCompletedAt = 0;

  constructor(
    private readonly writer: LedgerWriter,
    /** Ids whose node part is the writer's name in the rollup marks. */
    private readonly ids: SequentialIds,
  ) {}

  exchangeFinished(r: Readonly<ExchangeRecord>): void {
    if (r.gateway === undefined || r.project === undefined) return;
    const upstreamMs = r.upstreamMs ?? null;
    // Never before the previous entry (start and duration come from two clocks, a millisecond
    // apart at times): ids then grow with every entry, so "the rows after this id" are exactly the
    // rows recorded after it — what the limiter checkpoint's ledger position relies on.
    const completedAt = (this.lastCompletedAt = Math.max(this.lastCompletedAt, Math.round(r.startedAtMs + r.durationMs)));
    this.writer.record({
      // Entries are timed and ordered by completion, the order they are written in: a follower
      // polling for ids above the newest it saw never misses a long request that started earlier.
      id: this.ids.next(completedAt),
      atMs: completedAt,
      requestId: r.requestId,
      gateway: r.gatewayId ?? r.gateway,
      project: r.project,
      deployment: r.deployment ?? null,
      operation: r.operation,
      stream: r.stream,
      status: r.status ?? 0,
      outcome: r.outcome,
      errorCode: r.errorCode ?? null,
      upstreamStatus: r.upstreamStatus ?? null,
      promptTokens: r.promptTokens ?? 0,
      completionTokens: r.completionTokens ?? 0,
      totalTokens: r.totalTokens ?? 0,
      latencyMs: r.durationMs,
      upstreamMs,
      overheadMs: upstreamMs === null ? null : Math.max(0, Math.round((r.durationMs - upstreamMs) * 100) / 100),
      content: r.content ?? null,
      backend: r.backend ?? null,
      attempts: r.attempts ?? null,
      reservedTokens: r.reservedTokens ?? null,
      maxTokensCapped: r.maxTokensCapped ?? null,
      refusal: r.refusal ? { limitId: r.refusal.limitId, scope: r.refusal.scope, kind: r.refusal.kind, limit: r.refusal.limit, remaining: r.refusal.remaining } : null,
      message: r.message ?? null,
      // Plain fields, not a spread: this runs once per request.
      costMicros: r.currency === undefined ? undefined : (r.costMicros ?? 0),
      currency: r.currency,
    });
  }
}
