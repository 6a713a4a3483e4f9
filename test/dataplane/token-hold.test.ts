import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/accounting/count.js';
import type { Limiter, LimitRule, Reservation, ReserveResult } from '../../src/limits/limiter.js';
import { operationSpec } from '../../src/operations/registry.js';
import type { Operation } from '../../src/operations/operation.js';
import type { ExchangeRecord } from '../../src/dataplane/exchange-observer.js';
import { reserveTokens, TokenHold } from '../../src/dataplane/token-hold.js';
import type { DeploymentRuntime, LimitRuntime, ProjectRuntime } from '../../src/snapshot/config-snapshot.js';
import { TollgateError } from '../../src/errors.js';

/** A limiter that admits up to `capacity` tokens a minute and logs every call. */
class RecordingLimiter implements Limiter {
  readonly calls: string[] = [];
  constructor(private readonly capacity = 10_000) {}
  async reserve(rules: readonly LimitRule[], tokens: number): Promise<ReserveResult> {
    this.calls.push(`reserve ${tokens}`);
    if (tokens > this.capacity) return { ok: false, rule: rules[0]!, kind: 'tpm', limit: this.capacity, retryAfterSeconds: null, periodEnd: null };
    return { ok: true, reservation: { tokens }, standing: { tpm: { limit: this.capacity, remaining: this.capacity - tokens, resetSeconds: 60 }, quota: null } };
  }
  async settle(reservation: Reservation, used: number): Promise<void> {
    this.calls.push(`settle ${reservation.tokens}->${used}`);
  }
  async release(reservation: Reservation): Promise<void> {
    this.calls.push(`release ${reservation.tokens}`);
  }
  peek(): never {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

const deployment: DeploymentRuntime = {
  id: 'd1',
  name: 'chat',
  resourceName: 'r',
  provider: 'simulated',
  upstreamUrl: null,
  upstreamModel: 'gpt-4o',
  upstreamApiKey: null,
  apiVersion: null,
  defaultCompletionReservation: null,
  options: {},
};
const limit: LimitRuntime = { id: 'l1', gatewayId: 'gw_1', gatewayName: 'g', projectName: 'p', deploymentName: null, tokensPerMinute: 10_000, tokenQuota: null, quotaPeriod: null };
const project = (limited: boolean): ProjectRuntime => ({
  id: 'p1',
  name: 'p',
  resourceName: 'r',
  gateway: null,
  enabled: true,
  deployments: new Map([[deployment.name, deployment]]),
  limitsFor: () => (limited ? [limit] : []),
});
const body = { messages: [{ role: 'user', content: 'What is the capital of France?' }] };
const facts = { model: 'chat', stream: false, maxOutputTokens: 100 };
const logger = pino({ level: 'silent' });

async function hold(options: { limited?: boolean; operation?: Operation; capacity?: number } = {}) {
  const limiter = new RecordingLimiter(options.capacity);
  const record: ExchangeRecord = { requestId: 'r1', startedAtMs: 0, durationMs: 0, operation: 'chat.completions', stream: false, outcome: 'ok' };
  const spec = operationSpec(options.operation ?? 'chat.completions');
  const h = await reserveTokens({ limiter, governance: { defaultCompletionReservation: 500 }, logger }, project(options.limited ?? true), deployment, spec, body, facts, record);
  return { h, limiter, record };
}

describe('TokenHold: one owner of a request’s tokens', () => {
  it('reserves prompt estimate + max_tokens, and settles to the reported usage once', async () => {
    const { h, limiter, record } = await hold();
    const prompt = h.promptEstimate!;
    expect(h.reserved).toBe(prompt + 100);
    await h.settle({ prompt: 14, completion: 7, total: 21 });
    await h.settle({ prompt: 99, completion: 99, total: 198 });
    await h.settleCounted('more text');
    await h.chargePrompt();
    await h.release();
    expect(limiter.calls).toEqual([`reserve ${prompt + 100}`, `settle ${prompt + 100}->21`]);
    expect(record).toMatchObject({ promptTokens: 14, completionTokens: 7, totalTokens: 21 });
    expect(h.isEnded).toBe(true);
  });

  it('settles from counted text once: the prompt estimate plus the text’s tokens', async () => {
    const { h, limiter, record } = await hold();
    const prompt = h.promptEstimate!;
    const text = 'Paris is the capital of France.';
    await h.settleCounted(text);
    await h.settleCounted(text);
    await h.settle({ prompt: 1, completion: 1, total: 2 });
    const total = prompt + countTextTokens(text);
    expect(limiter.calls.slice(1)).toEqual([`settle ${prompt + 100}->${total}`]);
    expect(record).toMatchObject({ promptTokens: prompt, completionTokens: countTextTokens(text), totalTokens: total });
  });

  it('a stream’s reported prompt replaces the estimate', async () => {
    const { h, record } = await hold();
    await h.settleStream({ usage: null, promptTokens: 42, generatedText: () => 'Paris' });
    expect(record).toMatchObject({ promptTokens: 42, completionTokens: countTextTokens('Paris') });
  });

  it('charges the prompt only, once', async () => {
    const { h, limiter, record } = await hold();
    const prompt = h.promptEstimate!;
    await h.chargePrompt();
    await h.chargePrompt();
    await h.release();
    expect(limiter.calls.slice(1)).toEqual([`settle ${prompt + 100}->${prompt}`]);
    expect(record).toMatchObject({ promptTokens: prompt, completionTokens: 0, totalTokens: prompt });
  });

  it('releases once, and nothing settles after a release', async () => {
    const { h, limiter, record } = await hold();
    await h.release();
    await h.release();
    await h.settle({ prompt: 1, completion: 1, total: 2 });
    await h.chargePrompt();
    expect(limiter.calls.slice(1)).toEqual([`release ${h.reserved}`]);
    expect(record.totalTokens).toBeUndefined();
    expect(h.headers()).not.toHaveProperty('x-tokens-consumed');
  });

  it('produces the rate-limit headers once, with the tokens used once settled', async () => {
    const { h } = await hold();
    await h.settle({ prompt: 14, completion: 7, total: 21 });
    expect(h.headers()).toEqual({
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': String(10_000 - 21),
      'x-ratelimit-reset-tokens': '60s',
      'x-tokens-consumed': '21',
    });
    expect(() => h.headers()).toThrow(/produced once/);
  });

  it('before settling, the headers count the whole reservation', async () => {
    const { h } = await hold();
    expect(h.headers()['x-ratelimit-remaining-tokens']).toBe(String(10_000 - h.reserved!));
  });

  it('holds nothing without a limit, yet accounts for what was used', async () => {
    const { h, limiter, record } = await hold({ limited: false });
    expect(h.holdsReservation).toBe(false);
    expect(h.promptEstimate).toBeNull();
    expect(h.reserved).toBeUndefined();
    await h.settle({ prompt: 3, completion: 4, total: 7 });
    expect(limiter.calls).toEqual([]);
    expect(record.totalTokens).toBe(7);
    expect(h.headers()).toEqual({ 'x-tokens-consumed': '7' });
  });

  it('holds nothing for an operation that is not metered, and reserves no completion for embeddings', async () => {
    const counting = await hold({ operation: 'messages.count_tokens' });
    expect(counting.h.holdsReservation).toBe(false);
    expect(counting.limiter.calls).toEqual([]);
    const embedding = await hold({ operation: 'embeddings' });
    expect(embedding.h.reserved).toBe(embedding.h.promptEstimate!);
  });

  it('a reservation that can never fit is refused with the catalogued error', async () => {
    const refused = hold({ capacity: 10 });
    await expect(refused).rejects.toBeInstanceOf(TollgateError);
    await expect(refused).rejects.toMatchObject({ code: 'token_rate_limit_exceeded', status: 429 });
  });

  it('is what reserveTokens returns', async () => {
    expect((await hold()).h).toBeInstanceOf(TokenHold);
  });
});
