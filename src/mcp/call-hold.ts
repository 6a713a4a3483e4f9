import { TollgateError } from '../errors.js';
import type { Limiter, Refusal, Reservation } from '../limits/limiter.js';
import { PERIOD_NOUN } from '../limits/quota-period.js';
import type { McpLimitRuntime } from './mcp-snapshot.js';

/*
 * Where a tool call is counted: reserved (one call) against every call limit that applies before
 * it is forwarded, settled to one call once the upstream answered — an answer that refuses the
 * call still counts — or released when the call never reached it. The same limiter as tokens, so
 * one count across nodes.
 */

/** A tool call's hold on its limits; it alone ends the reservation, once. Not thread-safe: one per call. */
export class CallHold {
  private ended = false;

  constructor(
    private readonly limiter: Limiter,
    private readonly reservation: Reservation | null,
  ) {}

  /** The upstream got the call: it counts. */
  async settle(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.reservation) await this.limiter.settle(this.reservation, 1);
  }

  /** The call never reached the upstream: it does not count. */
  async release(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.reservation) await this.limiter.release(this.reservation);
  }
}

/** Reserves one call against the limits, or throws the catalogued 429/403. */
export async function reserveCall(limiter: Limiter, limits: readonly McpLimitRuntime[], scope: { project: string; server: string; tool: string }): Promise<CallHold> {
  if (limits.length === 0) return new CallHold(limiter, null);
  const result = await limiter.reserve(limits, 1);
  if (!result.ok) throw callRefusal(result, scope);
  return new CallHold(limiter, result.reservation);
}

function callRefusal(refusal: Refusal, scope: { project: string; server: string; tool: string }): TollgateError {
  const limit = refusal.rule as McpLimitRuntime;
  const what = limit.tool === null ? `every tool of MCP server "${scope.server}"` : `tool "${scope.tool}" of MCP server "${scope.server}"`;
  const s = refusal.retryAfterSeconds ?? 60;
  if (refusal.kind === 'tpm') {
    return new TollgateError(
      'tool_rate_limit_exceeded',
      `Tool call limit is exceeded: project "${scope.project}" may make ${refusal.limit} calls per minute to ${what}. Try again in ${s} second${s === 1 ? '' : 's'}.`,
      { headers: { 'retry-after': String(s), 'x-ratelimit-limit-calls': String(refusal.limit), 'x-ratelimit-remaining-calls': '0' } },
    );
  }
  const period = PERIOD_NOUN[limit.quotaPeriod ?? 'daily'];
  const resetAt = new Date(refusal.periodEnd ?? 0).toISOString();
  return new TollgateError(
    'tool_quota_exceeded',
    `The call quota of ${refusal.limit} calls per ${period} to ${what} is spent for project "${scope.project}". It resets at ${resetAt}.`,
    { headers: { 'retry-after': String(s), 'x-quota-remaining-calls': '0' } },
  );
}
