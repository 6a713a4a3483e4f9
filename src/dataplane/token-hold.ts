import type { Logger } from 'pino';
import { CountBudget } from '../accounting/count-budget.js';
import { countTextTokens, encodingFor } from '../accounting/count.js';
import { MAX_ANSWER_TOKENS, type Usage } from '../accounting/usage.js';
import type { Limiter, Reservation, Standing } from '../limits/limiter.js';
import type { OperationSpec } from '../operations/operation.js';
import type { DeploymentRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';
import type { ExchangeRecord } from './exchange-observer.js';
import { refusalError, type GovernanceSettings } from './governance.js';
import type { RequestFacts } from './request-body.js';

/**
 * Where a request's tokens are reserved and settled: `reserveTokens` reserves before the request
 * is forwarded; the TokenHold it returns is the only thing that ends the reservation, once.
 */

/** What a request is, as far as its tokens go. */
export interface HoldContext {
  readonly spec: OperationSpec;
  readonly deployment: DeploymentRuntime;
  /** The request as the client sent it: its prompt is estimated from it when no usage comes. */
  readonly body: Record<string, unknown>;
  /** The exchange's record: settling writes the tokens used into it. */
  readonly record: ExchangeRecord;
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
 * what the request used.
 */
export async function reserveTokens(
  limiter: Limiter,
  settings: GovernanceSettings,
  project: ProjectRuntime,
  facts: RequestFacts,
  context: HoldContext,
): Promise<TokenHold> {
  const { spec, deployment, body } = context;
  const limits = project.limitsFor(deployment.name);
  if (limits.length === 0 || !spec.metered) return new TokenHold(limiter, context, null);
  const promptEstimate = estimatedPrompt(spec, body, deployment);
  const completion = spec.reservesCompletion
    ? (facts.maxOutputTokens ?? deployment.defaultCompletionReservation ?? settings.defaultCompletionReservation)
    : 0;
  const reserved = promptEstimate + completion;
  const result = await limiter.reserve(limits, reserved);
  if (!result.ok) throw refusalError(result, project, { promptEstimate, completion, reserved, explicitMax: facts.maxOutputTokens !== null });
  return new TokenHold(limiter, context, { reservation: result.reservation, promptEstimate, reserved, standing: result.standing });
}

/** What a hold reserved against the limits. */
export interface Reserved {
  readonly reservation: Reservation;
  readonly promptEstimate: number;
  readonly reserved: number;
  readonly standing: Standing;
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
    private readonly limiter: Limiter,
    private readonly context: HoldContext,
    /** Null when nothing is reserved (no limit applies, or the operation is not metered). */
    readonly held: Reserved | null,
  ) {}

  /** Tokens reserved, when any were. */
  get reserved(): number | undefined {
    return this.held?.reserved;
  }

  /** Whether the hold has been settled, charged or released. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Settles to the usage the upstream reported. */
  async settle(usage: Usage): Promise<void> {
    if (this.ended) return;
    const r = this.context.record;
    if (usage.capped) {
      this.context.logger.warn(
        { reqId: r.requestId, deployment: r.deployment, prompt: usage.prompt, completion: usage.completion, bound: MAX_ANSWER_TOKENS },
        'upstream reported more tokens than any answer can use; counted as the bound',
      );
    }
    await this.charge(usage.prompt, usage.completion);
  }

  /**
   * Settles without usage: the prompt as the upstream reported it at the start of a stream, else
   * as estimated, plus the generated text counted.
   */
  async settleCounted(generatedText: string, reportedPrompt: number | null = null): Promise<void> {
    if (this.ended) return;
    const completion = generatedText.length === 0 ? 0 : countTextTokens(generatedText, encodingFor(this.context.deployment.upstreamModel));
    await this.charge(reportedPrompt ?? this.promptEstimate(), completion);
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
    if (this.held !== null) await this.limiter.release(this.held.reservation);
  }

  /**
   * The rate-limit headers of the response, for the tightest TPM limit and quota; once settled,
   * the tokens used replace the reservation in the remaining counts. Produced once per request.
   */
  headers(): Record<string, string> {
    if (this.headersGiven) throw new Error('the rate-limit headers of a request are produced once');
    this.headersGiven = true;
    const consumed = this.used;
    if (this.held === null) return consumed === null ? {} : { 'x-tokens-consumed': String(consumed) };
    return limitHeaders(this.held, consumed);
  }

  private async charge(prompt: number, completion: number): Promise<void> {
    this.ended = true;
    const r = this.context.record;
    r.promptTokens = prompt;
    r.completionTokens = completion;
    const total = (r.totalTokens = prompt + completion);
    this.used = total;
    if (this.held !== null) await this.limiter.settle(this.held.reservation, total);
  }

  /**
   * The prompt estimate of the reservation; without one (no limit applies) estimated now: only
   * requests that got no usage pay for the tokenizer, the common path never does.
   */
  private promptEstimate(): number {
    if (this.held !== null) return this.held.promptEstimate;
    return estimatedPrompt(this.context.spec, this.context.body, this.context.deployment);
  }
}

/** The prompt tokens of a request, estimated with its deployment's tokenizer. */
export function estimatedPrompt(spec: OperationSpec, body: Record<string, unknown>, deployment: DeploymentRuntime): number {
  return spec.estimatePrompt(body, { encoding: encodingFor(deployment.upstreamModel), budget: new CountBudget() });
}

function limitHeaders(held: Reserved, consumed: number | null): Record<string, string> {
  const headers: Record<string, string> = {};
  const returned = consumed === null ? 0 : held.reserved - consumed;
  const { tpm, quota } = held.standing;
  if (tpm) {
    headers['x-ratelimit-limit-tokens'] = String(tpm.limit);
    headers['x-ratelimit-remaining-tokens'] = String(clamp(tpm.remaining + returned, tpm.limit));
    headers['x-ratelimit-reset-tokens'] = `${tpm.resetSeconds}s`;
  }
  if (quota) headers['x-quota-remaining-tokens'] = String(clamp(quota.remaining + returned, quota.limit));
  if (consumed !== null) headers['x-tokens-consumed'] = String(consumed);
  return headers;
}

const clamp = (value: number, max: number) => Math.max(0, Math.min(max, value));
