import type { Logger } from 'pino';
import { CountBudget } from '../accounting/count-budget.js';
import { countTextTokens, encodingFor } from '../accounting/count.js';
import { costMicros, worstCaseMicros, type PriceRuntime } from '../accounting/pricing.js';
import { MAX_ANSWER_TOKENS, type Usage } from '../accounting/usage.js';
import type { Limiter, LimitStatus, Refusal, Reservation, Standing } from '../limits/limiter.js';
import type { OperationSpec } from '../operations/operation.js';
import type { DeploymentRuntime, LimitRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { ExchangeRecord } from './exchange-observer.js';
import { limitScope, MIN_USEFUL_COMPLETION, notPricedError, refusalError, remainingOf, type GovernanceSettings } from './governance.js';
import type { RequestFacts } from './request-body.js';

/*
 * Where a request's tokens are reserved and settled: `reserveTokens` reserves before the request
 * is forwarded; the TokenHold it returns is the only thing that ends the reservation, once.
 */

/** What reserving needs of the data plane (DataPlaneDeps has it). */
export interface TokenDeps {
  readonly limiter: Limiter;
  readonly governance: GovernanceSettings;
  readonly logger: Logger;
}

/** A stream's count so far (see SseUsageTap). */
export interface StreamCount {
  readonly usage: Usage | null;
  readonly promptTokens: number | null;
  generatedText(): string;
}

/**
 * Reserves `prompt estimate + completion maximum` against every limit that applies, before the
 * request is forwarded; throws the catalogued 429/403 when a limit refuses. The hold returned
 * holds nothing when no limit applies or the operation is not metered, but still accounts for
 * what the request used (into `record`).
 *
 * A request that names no maximum reserves a default completion; when its limits cannot hold
 * that, it reserves what they can (at least MIN_USEFUL_COMPLETION) and the hold's `outputCap`
 * bounds the completion upstream to it, so the limit stays a ceiling.
 */
export async function reserveTokens(
  deps: TokenDeps,
  project: ProjectRuntime,
  deployment: DeploymentRuntime,
  spec: OperationSpec,
  body: Record<string, unknown>,
  facts: RequestFacts,
  record: ExchangeRecord,
): Promise<TokenHold> {
  const limits = project.limitsFor(deployment.name);
  if (limits.length === 0 || !spec.metered) return new TokenHold(deps, spec, deployment, body, record, null, null, 0, null);
  const promptEstimate = estimatedPrompt(spec, body, deployment);
  const explicitMax = facts.maxOutputTokens !== null;
  let completion = spec.reservesCompletion
    ? (facts.maxOutputTokens ?? deployment.defaultCompletionReservation ?? deps.governance.defaultCompletionReservation)
    : 0;
  // Only a default is cut, never a maximum the client chose; and only where the upstream can be told.
  const cappable = !explicitMax && completion > MIN_USEFUL_COMPLETION && spec.outputCapField !== null;
  let capped = false;
  if (cappable) {
    const room = smallestLimit(limits) - promptEstimate;
    if (room < completion && room >= MIN_USEFUL_COMPLETION) [completion, capped] = [room, true];
  }
  let reservedMicros = budgetReservation(limits, deployment, promptEstimate, completion);
  let result = await deps.limiter.reserve(limits, promptEstimate + completion, reservedMicros);
  let status: LimitStatus | null = null;
  if (!result.ok) status = await statusOf(deps, result);
  // Refused for now: what the limits still hold may be enough for a shorter completion. One more
  // try per limit at most (each refusal names one), so a busy limit cannot keep us here.
  // (A spent budget is money, not room: no shorter completion is tried against it.)
  for (let tries = 0; !result.ok && cappable && result.retryAfterSeconds !== null && result.rule.unit !== 'micros' && tries < limits.length; tries++) {
    const left = remainingOf(result, status);
    const room = left === null ? 0 : Math.min(completion, left - promptEstimate);
    if (room < MIN_USEFUL_COMPLETION || room >= completion) break;
    [completion, capped] = [room, true];
    reservedMicros = budgetReservation(limits, deployment, promptEstimate, completion);
    result = await deps.limiter.reserve(limits, promptEstimate + completion, reservedMicros);
    status = result.ok ? null : await statusOf(deps, result);
  }
  const reserved = promptEstimate + completion;
  if (!result.ok) {
    const rule = result.rule as LimitRuntime;
    record.reservedTokens = reserved;
    record.refusal = {
      limitId: rule.limitId ?? rule.id,
      scope: limitScope(rule),
      kind: rule.unit === 'micros' ? 'budget' : result.kind,
      limit: result.limit,
      remaining: remainingOf(result, status),
      neverFits: result.retryAfterSeconds === null,
    };
    throw refusalError(result, project, { promptEstimate, completion, reserved, explicitMax, deployment: deployment.name, reservedMicros }, status);
  }
  if (capped) record.maxTokensCapped = completion;
  return new TokenHold(deps, spec, deployment, body, record, result.reservation, promptEstimate, reserved, result.standing, capped ? completion : null);
}

/** The smallest token count any of the limits allows at all (a TPM or a whole quota). */
function smallestLimit(limits: readonly LimitRuntime[]): number {
  let smallest = Infinity;
  for (const l of limits) {
    if (l.unit === 'micros') continue; // a budget counts money, not tokens
    if (l.tokensPerMinute !== null && l.tokensPerMinute < smallest) smallest = l.tokensPerMinute;
    if (l.tokenQuota !== null && l.quotaPeriod !== null && l.tokenQuota < smallest) smallest = l.tokenQuota;
  }
  return smallest;
}

/** The refusing limit's standing, to explain the refusal; null when it cannot be read (a refusal must not fail on it). */
async function statusOf(deps: TokenDeps, refusal: Refusal): Promise<LimitStatus | null> {
  try {
    return await deps.limiter.peek(refusal.rule);
  } catch {
    return null;
  }
}

/**
 * The worst-case cost to reserve against the budgets among `limits`, in micro-units: 0 when none
 * applies. A budget over a deployment that cannot be priced in its currency refuses the request:
 * it is never let through uncounted.
 */
function budgetReservation(limits: readonly LimitRuntime[], deployment: DeploymentRuntime, prompt: number, completion: number): number {
  let micros = 0;
  for (const limit of limits) {
    if (limit.budget === undefined) continue;
    const price = deployment.worstPrice;
    if (!price) throw notPricedError(deployment.name, limit.budget.currency, 'none');
    if (price.currency !== limit.budget.currency) throw notPricedError(deployment.name, limit.budget.currency, 'currency');
    micros = worstCaseMicros(prompt, completion, price);
  }
  return micros;
}

/**
 * A request's hold on its limits between forwarding and settlement. It alone ends it, exactly
 * once, in one of four ways: settled to the upstream's usage, settled to the counted text,
 * charged for the prompt only, or released in full; later calls do nothing. Its rate-limit
 * headers are produced once. Not thread-safe: one hold per request.
 */
export class TokenHold {
  /** Tokens the request used, once settled (null: not yet, or released). */
  private used: number | null = null;
  private ended = false;
  private headersGiven = false;

  constructor(
    private readonly deps: TokenDeps,
    private readonly spec: OperationSpec,
    private readonly deployment: DeploymentRuntime,
    /** The request as the client sent it: its prompt is estimated from it when no usage comes. */
    private readonly body: Record<string, unknown>,
    /** The exchange's record: settling writes the tokens used into it. */
    private readonly record: ExchangeRecord,
    /** Null when nothing is reserved (no limit applies, or the operation is not metered). */
    private readonly reservation: Reservation | null,
    /** The prompt estimate reserved, when a reservation was made. */
    readonly promptEstimate: number | null,
    private readonly reservedTokens: number,
    private readonly standing: Standing | null,
    /** The completion maximum to set upstream: the request named none, and its limits hold less than the default. */
    readonly outputCap: number | null = null,
  ) {}

  /** Tokens reserved, when any were. */
  get reserved(): number | undefined {
    return this.reservation === null ? undefined : this.reservedTokens;
  }

  /** Whether the hold holds tokens against a limit. */
  get holdsReservation(): boolean {
    return this.reservation !== null;
  }

  /** Whether the hold has been settled, charged or released. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Settles to the usage the upstream reported. */
  async settle(usage: Usage): Promise<void> {
    if (this.ended) return;
    if (usage.capped) {
      const r = this.record;
      this.deps.logger.warn(
        { reqId: r.requestId, deployment: r.deployment, prompt: usage.prompt, completion: usage.completion, bound: MAX_ANSWER_TOKENS },
        'upstream reported more tokens than any answer can use; counted as the bound',
      );
    }
    await this.charge(usage);
  }

  /**
   * Settles without usage: the prompt as the upstream reported it at the start of a stream, else
   * as estimated, plus the generated text counted.
   */
  async settleCounted(generatedText: string, reportedPrompt: number | null = null): Promise<void> {
    if (this.ended) return;
    const completion = generatedText.length === 0 ? 0 : countTextTokens(generatedText, encodingFor(this.deployment.upstreamModel));
    const prompt = reportedPrompt ?? this.promptTokens();
    await this.charge({ prompt, completion, total: prompt + completion });
  }

  /** Settles what a stream used so far: its final usage, or its reported prompt and the text seen. */
  settleStream(count: StreamCount): Promise<void> {
    return count.usage ? this.settle(count.usage) : this.settleCounted(count.generatedText(), count.promptTokens);
  }

  /** Charges the prompt only: the upstream processed it, but no completion reached the client. */
  chargePrompt(): Promise<void> {
    return this.settleCounted('');
  }

  /** Returns the whole reservation: the request used nothing (it failed before any answer). */
  async release(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.reservation !== null) await this.deps.limiter.release(this.reservation);
  }

  /**
   * The rate-limit headers of the response, for the tightest TPM limit and quota; once settled,
   * the tokens used replace the reservation in the remaining counts. Produced once per request.
   */
  headers(): Record<string, string> {
    if (this.headersGiven) throw new Error('the rate-limit headers of a request are produced once');
    this.headersGiven = true;
    const consumed = this.used;
    const headers: Record<string, string> = {};
    if (this.standing !== null) {
      const returned = consumed === null ? 0 : this.reservedTokens - consumed;
      const { tpm, quota } = this.standing;
      if (tpm) {
        headers['x-ratelimit-limit-tokens'] = String(tpm.limit);
        headers['x-ratelimit-remaining-tokens'] = String(clamp(tpm.remaining + returned, tpm.limit));
        headers['x-ratelimit-reset-tokens'] = `${tpm.resetSeconds}s`;
      }
      if (quota) headers['x-quota-remaining-tokens'] = String(clamp(quota.remaining + returned, quota.limit));
    }
    if (consumed !== null) headers['x-tokens-consumed'] = String(consumed);
    if (this.outputCap !== null) headers['x-tollgate-max-tokens-capped'] = String(this.outputCap);
    return headers;
  }

  private async charge(usage: Usage): Promise<void> {
    this.ended = true;
    const r = this.record;
    r.promptTokens = usage.prompt;
    r.completionTokens = usage.completion;
    const total = (r.totalTokens = usage.prompt + usage.completion);
    this.used = total;
    // Priced at the prices of the upstream that answered (a pool's backend may have its own).
    const price = this.price();
    let micros = 0;
    if (price !== null) {
      micros = r.costMicros = costMicros(usage, price);
      r.currency = price.currency;
    }
    if (this.reservation !== null) await this.deps.limiter.settle(this.reservation, total, micros);
  }

  private price(): PriceRuntime | null {
    const pool = this.deployment.pool;
    const backend = this.record.backend;
    if (pool && backend !== undefined) {
      for (const b of pool.backends) if (b.name === backend) return b.deployment.price ?? null;
    }
    return this.deployment.price ?? null;
  }

  /**
   * The prompt estimate of the reservation; without one (no limit applies) estimated now: only
   * requests that got no usage pay for the tokenizer, the common path never does.
   */
  private promptTokens(): number {
    return this.promptEstimate ?? estimatedPrompt(this.spec, this.body, this.deployment);
  }
}

/** The prompt tokens of a request, estimated with its deployment's tokenizer. */
export function estimatedPrompt(spec: OperationSpec, body: Record<string, unknown>, deployment: DeploymentRuntime): number {
  return spec.estimatePrompt(body, { encoding: encodingFor(deployment.upstreamModel), budget: new CountBudget() });
}

const clamp = (value: number, max: number) => Math.max(0, Math.min(max, value));
