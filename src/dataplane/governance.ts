import { formatMicros } from '../accounting/pricing.js';
import { TollgateError } from '../errors.js';
import type { LimitStatus, Refusal } from '../limits/limiter.js';
import type { LimitScope } from '../usage/ledger.js';
import { PERIOD_NOUN } from '../limits/quota-period.js';
import type { LimitRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';

/*
 * What governance tells a client whose reservation does not fit: the catalogued 429/403 with a
 * message a person can act on. Reserving and settling themselves are in token-hold.ts.
 */

export interface GovernanceSettings {
  /** Completion tokens reserved when neither the request nor the deployment names a maximum. */
  defaultCompletionReservation: number;
}

export interface Demand {
  promptEstimate: number;
  completion: number;
  reserved: number;
  explicitMax: boolean;
  /** The deployment the request asked for. */
  deployment: string;
  /** The worst-case cost reserved against budgets, in micro-units (0: no budget applies). */
  reservedMicros?: number;
}

/** The smallest completion worth reserving for a request that named no maximum (docs/limits.md). */
export const MIN_USEFUL_COMPLETION = 16;

/**
 * The catalogued 429/403 for a reservation a limit refused, naming the project, the deployment
 * and the limit, and saying what to change. `status` is the refusing limit's standing, when it
 * could be read: it fills the rate-limit headers of a refusal that can never fit.
 */
export function refusalError(refusal: Refusal, project: ProjectRuntime, demand: Demand, status: LimitStatus | null = null): TollgateError {
  const rule = refusal.rule as LimitRuntime;
  const scope = scopeOf(rule, project, demand.deployment);
  if (rule.budget) return budgetError(refusal, rule.budget, scope, demand);
  const needs = `This request reserves ${demand.reserved} tokens (about ${demand.promptEstimate} for the prompt + ${demand.completion} for the completion)`;
  const fix = demand.explicitMax
    ? 'Lower max_tokens (or shorten the prompt).'
    : `The prompt leaves no room for a completion of ${MIN_USEFUL_COMPLETION} tokens under this limit: shorten the prompt or raise the limit.`;
  if (refusal.retryAfterSeconds === null) {
    const unit = refusal.kind === 'tpm' ? 'tokens per minute' : `tokens per ${PERIOD_NOUN[rule.quotaPeriod ?? 'daily']}`;
    const what = refusal.kind === 'tpm' ? 'the limit' : 'the whole quota';
    return new TollgateError(
      refusal.kind === 'tpm' ? 'token_rate_limit_exceeded' : 'token_quota_exceeded',
      `${needs}, more than ${what} of ${refusal.limit} ${unit} for ${scope}, so it can never fit. ${fix}`,
      { headers: { ...NEVER_FITS, ...standingHeaders(status) } },
    );
  }
  if (refusal.kind === 'tpm') {
    const s = refusal.retryAfterSeconds;
    return new TollgateError(
      'token_rate_limit_exceeded',
      `Token limit of ${refusal.limit} tokens per minute is exceeded for ${scope}. Try again in ${s} second${s === 1 ? '' : 's'}.`,
      {
        headers: {
          'retry-after': String(s),
          'x-ratelimit-limit-tokens': String(refusal.limit),
          'x-ratelimit-remaining-tokens': '0',
          'x-ratelimit-reset-tokens': `${s}s`,
        },
      },
    );
  }
  const period = PERIOD_NOUN[rule.quotaPeriod ?? 'daily'];
  const resetAt = new Date(refusal.periodEnd ?? 0).toISOString();
  return new TollgateError(
    'token_quota_exceeded',
    `The token quota of ${refusal.limit} tokens for this ${period} is exhausted for ${scope}. It resets at ${resetAt} (in ${humanDuration(refusal.retryAfterSeconds)}).`,
    { headers: { 'retry-after': String(refusal.retryAfterSeconds), 'x-quota-remaining-tokens': '0' } },
  );
}

/** The scope of a limit as the ledger keeps it. */
export function limitScope(limit: LimitRuntime): LimitScope {
  return limit.gatewayDefault ? 'default' : limit.deploymentName === null ? 'project-wide' : 'per-deployment';
}

/** The 403 of a spent budget: its amount, currency, period and reset time, and what this request may cost. */
function budgetError(refusal: Refusal, budget: NonNullable<LimitRuntime['budget']>, scope: string, demand: Demand): TollgateError {
  const amount = `${formatMicros(budget.micros)} ${budget.currency}`;
  const period = PERIOD_NOUN[budget.period];
  const cost = `${formatMicros(demand.reservedMicros ?? 0)} ${budget.currency}`;
  const fix = demand.explicitMax ? 'Lower max_tokens (or shorten the prompt).' : 'Set max_tokens (its worst case is priced when none is set).';
  if (refusal.retryAfterSeconds === null) {
    return new TollgateError(
      'budget_exceeded',
      `This request may cost up to ${cost} (${demand.promptEstimate} prompt tokens + ${demand.completion} completion tokens at the deployment's prices), more than the whole budget of ${amount} per ${period} for ${scope}, so it can never fit. ${fix}`,
      { headers: NEVER_FITS },
    );
  }
  const resetAt = new Date(refusal.periodEnd ?? 0).toISOString();
  return new TollgateError(
    'budget_exceeded',
    `The budget of ${amount} per ${period} is spent for ${scope} (this request may cost up to ${cost}). It resets at ${resetAt} (in ${humanDuration(refusal.retryAfterSeconds)}).`,
    { headers: { 'retry-after': String(refusal.retryAfterSeconds) } },
  );
}

/** The 403 of a budget over a deployment that cannot be priced in its currency. */
export function notPricedError(deployment: string, currency: string, why: 'none' | 'currency'): TollgateError {
  const problem =
    why === 'none'
      ? `deployment "${deployment}" (or a backend of its pool) has no prices`
      : `deployment "${deployment}" is priced in another currency than the budget's ${currency} (or its backends' currencies differ)`;
  return new TollgateError(
    'deployment_not_priced',
    `A money budget in ${currency} applies to this request, but ${problem}, so its cost cannot be counted. The gateway's admin must set the deployment's pricing.`,
    { headers: NEVER_FITS },
  );
}


/** What a refusing limit had left, from its standing (null: not read). */
export function remainingOf(refusal: Refusal, status: LimitStatus | null): number | null {
  const side = refusal.kind === 'tpm' ? status?.tpm : status?.quota;
  return side ? side.remaining : null;
}

/** The standard rate-limit headers of a limit's standing. */
function standingHeaders(status: LimitStatus | null): Record<string, string> {
  const headers: Record<string, string> = {};
  if (status?.tpm) {
    headers['x-ratelimit-limit-tokens'] = String(status.tpm.limit);
    headers['x-ratelimit-remaining-tokens'] = String(status.tpm.remaining);
    headers['x-ratelimit-reset-tokens'] = `${Math.max(0, Math.ceil((status.tpm.resetAt - Date.now()) / 1000))}s`;
  }
  if (status?.quota) headers['x-quota-remaining-tokens'] = String(status.quota.remaining);
  return headers;
}

/** A refusal no retry can change: the SDKs (openai, Anthropic, AI SDK, Agents) then do not retry it. */
const NEVER_FITS = { 'x-should-retry': 'false' };

function scopeOf(limit: LimitRuntime, project: ProjectRuntime, deployment: string): string {
  const applies = limit.deploymentName ? `its limit for deployment "${limit.deploymentName}"` : 'its limit for all deployments';
  // Said, because the project has no limit of its own to look up: the gateway's default caps it.
  const source = limit.gatewayDefault ? `the gateway's default project limit` : applies;
  return `project "${project.name}" on deployment "${deployment}" (${source}, id ${limit.limitId ?? limit.id})`;
}

function humanDuration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${seconds % 60}s`;
  return `${seconds}s`;
}
