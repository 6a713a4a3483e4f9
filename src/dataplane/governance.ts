import { countTextTokens, encodingFor } from '../accounting/count.js';
import { estimatePromptTokens } from '../accounting/estimate.js';
import { TollgateError } from '../errors.js';
import type { Limiter, Refusal, Reservation, Standing } from '../limits/limiter.js';
import { PERIOD_NOUN } from '../limits/quota-period.js';
import { isMetered, type Operation } from '../providers/provider.js';
import type { DeploymentRuntime, LimitRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { RequestFacts } from './request-body.js';

/** A request's hold on its limits between forwarding and settlement. */
export interface TokenHold {
  readonly reservation: Reservation;
  readonly promptEstimate: number;
  readonly reserved: number;
  readonly standing: Standing;
}

export interface GovernanceSettings {
  /** Completion tokens reserved when neither the request nor the deployment names a maximum. */
  defaultCompletionReservation: number;
}

/**
 * Reserves `prompt estimate + completion maximum` against every limit that applies, before the
 * request is forwarded. Returns null when no limit applies (nothing to reserve); throws the
 * catalogued 429/403 when a limit refuses.
 */
export async function reserveTokens(
  limiter: Limiter,
  settings: GovernanceSettings,
  project: ProjectRuntime,
  deployment: DeploymentRuntime,
  operation: Operation,
  body: Record<string, unknown>,
  facts: RequestFacts,
): Promise<TokenHold | null> {
  const limits = project.limitsFor(deployment.name);
  if (limits.length === 0 || !isMetered(operation)) return null;
  const promptEstimate = estimatedPrompt(operation, body, deployment);
  const completion =
    operation === 'embeddings'
      ? 0
      : (facts.maxOutputTokens ?? deployment.defaultCompletionReservation ?? settings.defaultCompletionReservation);
  const reserved = promptEstimate + completion;
  const result = await limiter.reserve(limits, reserved);
  if (!result.ok) throw refusalError(result, project, { promptEstimate, completion, reserved, explicitMax: facts.maxOutputTokens !== null });
  return { reservation: result.reservation, promptEstimate, reserved, standing: result.standing };
}

/** The prompt tokens of a request, estimated with its deployment's tokenizer. */
export function estimatedPrompt(operation: Operation, body: Record<string, unknown>, deployment: DeploymentRuntime): number {
  return estimatePromptTokens(operation, body, encodingFor(deployment.upstreamModel));
}

/** Completion tokens to charge when the upstream reported no usage: the generated text, counted. */
export function countedCompletion(generatedText: string, deployment: DeploymentRuntime): number {
  return countTextTokens(generatedText, encodingFor(deployment.upstreamModel));
}

/**
 * The rate-limit headers of a governed response, for the tightest TPM limit and quota. `consumed`
 * (when known) replaces the reservation in the remaining counts.
 */
export function limitHeaders(hold: TokenHold, consumed: number | null): Record<string, string> {
  const headers: Record<string, string> = {};
  const returned = consumed === null ? 0 : hold.reserved - consumed;
  const { tpm, quota } = hold.standing;
  if (tpm) {
    headers['x-ratelimit-limit-tokens'] = String(tpm.limit);
    headers['x-ratelimit-remaining-tokens'] = String(clamp(tpm.remaining + returned, tpm.limit));
    headers['x-ratelimit-reset-tokens'] = `${tpm.resetSeconds}s`;
  }
  if (quota) headers['x-quota-remaining-tokens'] = String(clamp(quota.remaining + returned, quota.limit));
  if (consumed !== null) headers['x-tokens-consumed'] = String(consumed);
  return headers;
}

interface Demand {
  promptEstimate: number;
  completion: number;
  reserved: number;
  explicitMax: boolean;
}

function refusalError(refusal: Refusal, project: ProjectRuntime, demand: Demand): TollgateError {
  const scope = scopeOf(refusal.rule as LimitRuntime, project);
  const needs = `This request reserves ${demand.reserved} tokens (about ${demand.promptEstimate} for the prompt + ${demand.completion} for the completion)`;
  const fix = demand.explicitMax
    ? 'Lower max_tokens (or shorten the prompt).'
    : `Set max_tokens: without it, the deployment's default completion reservation of ${demand.completion} tokens is reserved.`;
  if (refusal.kind === 'tpm') {
    if (refusal.retryAfterSeconds === null) {
      return new TollgateError(
        'token_rate_limit_exceeded',
        `${needs}, more than the limit of ${refusal.limit} tokens per minute for ${scope}, so it can never fit. ${fix}`,
        NEVER_FITS,
      );
    }
    const s = refusal.retryAfterSeconds;
    return new TollgateError('token_rate_limit_exceeded', `Token limit is exceeded. Try again in ${s} second${s === 1 ? '' : 's'}.`, {
      headers: {
        'retry-after': String(s),
        'x-ratelimit-limit-tokens': String(refusal.limit),
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': `${s}s`,
      },
    });
  }
  const period = PERIOD_NOUN[refusal.rule.quotaPeriod ?? 'daily'];
  if (refusal.retryAfterSeconds === null) {
    return new TollgateError(
      'token_quota_exceeded',
      `${needs}, more than the whole quota of ${refusal.limit} tokens per ${period} for ${scope}, so it can never fit. ${fix}`,
      NEVER_FITS,
    );
  }
  const resetAt = new Date(refusal.periodEnd ?? 0).toISOString();
  return new TollgateError(
    'token_quota_exceeded',
    `The token quota of ${refusal.limit} tokens for this ${period} is exhausted for ${scope}. It resets at ${resetAt} (in ${humanDuration(refusal.retryAfterSeconds)}).`,
    { headers: { 'retry-after': String(refusal.retryAfterSeconds), 'x-quota-remaining-tokens': '0' } },
  );
}

/** A refusal no retry can change: the SDKs (openai, Anthropic, AI SDK, Agents) then do not retry it. */
const NEVER_FITS = { headers: { 'x-should-retry': 'false' } };

function scopeOf(limit: LimitRuntime, project: ProjectRuntime): string {
  const deployment = limit.deploymentName ? `deployment "${limit.deploymentName}"` : 'all deployments';
  // Said, because the project has no limit of its own to look up: the gateway's default caps it.
  const source = limit.gatewayDefault ? ` (the gateway's default project limit)` : '';
  return `project "${project.name}" on ${deployment}${source}`;
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

const clamp = (value: number, max: number) => Math.max(0, Math.min(max, value));
