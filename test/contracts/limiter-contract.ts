/**
 * The behavioural contract of a `Limiter`, run against every implementation (in memory now, Redis
 * later) with the same fake clock. It only uses the public `Limiter` interface: no implementation
 * internals. Every test gets a fresh limiter (closed afterwards) and fresh rule ids, so a shared
 * backend never carries state from one test into another.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QuotaPeriod } from '../../src/domain/model.js';
import type { Clock } from '../../src/limits/clock.js';
import type { LimitRule, LimitStatus, Limiter, Refusal, Reservation, ReserveResult, Standing } from '../../src/limits/limiter.js';
import { periodEnd, periodStart } from '../../src/limits/quota-period.js';
import { prng } from '../support/prng.js';

export interface LimiterContractOptions {
  /** Reservations neither settled nor released within this time are released automatically. */
  reservationTtlMs: number;
}

export type LimiterFactory = (clock: Clock, options: LimiterContractOptions) => Promise<Limiter>;

/** The reservation TTL every limiter under contract is built with. */
export const CONTRACT_TTL_MS = 60_000;

/** Wednesday 2030-05-15 10:00:00.000 UTC: aligned to the second, the minute and the hour. */
const T0 = Date.UTC(2030, 4, 15, 10, 0, 0, 0);
const SEC = 1000;

const runTag = Math.random().toString(36).slice(2, 10);
let ruleSeq = 0;

/** A rule id no other test (nor another run against the same backend) uses. */
export function uniqueRuleId(label = 'rule'): string {
  return `contract-${runTag}-${++ruleSeq}-${label}`;
}

interface RuleValues {
  tpm?: number | null;
  quota?: number | null;
  period?: QuotaPeriod | null;
}

function makeRule(values: RuleValues, id = uniqueRuleId()): LimitRule {
  const quota = values.quota ?? null;
  return {
    id,
    tokensPerMinute: values.tpm ?? null,
    tokenQuota: quota,
    quotaPeriod: quota === null ? null : (values.period ?? 'daily'),
  };
}

/** Same id, new values: a limit edited live. */
function changed(rule: LimitRule, values: RuleValues): LimitRule {
  return makeRule(
    {
      tpm: values.tpm === undefined ? rule.tokensPerMinute : values.tpm,
      quota: values.quota === undefined ? rule.tokenQuota : values.quota,
      period: values.period === undefined ? rule.quotaPeriod : values.period,
    },
    rule.id,
  );
}

export { prng };

function describeRefusal(r: ReserveResult): string {
  if (r.ok) return `admitted ${r.reservation.tokens}`;
  return `refused by ${r.rule.id} (${r.kind}, limit ${r.limit}, retryAfter ${r.retryAfterSeconds}, periodEnd ${r.periodEnd})`;
}

/** Priority of a refusal: never-fits first, then quota, then TPM. */
function rank(kind: 'tpm' | 'quota', retryAfterSeconds: number | null): number {
  return (retryAfterSeconds === null ? 2 : 0) + (kind === 'quota' ? 1 : 0);
}

export function limiterContract(name: string, make: LimiterFactory): void {
  describe(name, () => {
    let now = T0;
    const clock: Clock = () => now;
    let limiter: Limiter;

    beforeEach(async () => {
      now = T0;
      limiter = await make(clock, { reservationTtlMs: CONTRACT_TTL_MS });
    });

    afterEach(async () => {
      await limiter.close();
    });

    async function admit(rules: readonly LimitRule[], tokens: number): Promise<{ reservation: Reservation; standing: Standing }> {
      const r = await limiter.reserve(rules, tokens);
      if (!r.ok) throw new Error(`expected ${tokens} tokens to be admitted at +${now - T0} ms, but ${describeRefusal(r)}`);
      expect(r.reservation.tokens).toBe(tokens);
      return r;
    }

    async function refused(rules: readonly LimitRule[], tokens: number): Promise<Refusal> {
      const r = await limiter.reserve(rules, tokens);
      if (r.ok) throw new Error(`expected ${tokens} tokens to be refused at +${now - T0} ms, but they were admitted`);
      return r;
    }

    async function tpmUsed(rule: LimitRule): Promise<number> {
      const s = await limiter.peek(rule);
      if (!s.tpm) throw new Error(`peek(${rule.id}) has no tpm status`);
      return s.tpm.used;
    }

    async function quotaUsed(rule: LimitRule): Promise<number> {
      const s = await limiter.peek(rule);
      if (!s.quota) throw new Error(`peek(${rule.id}) has no quota status`);
      return s.quota.used;
    }

    /**
     * The retry promise: after exactly `retryAfterSeconds` the same reservation succeeds; one second
     * earlier it is still refused. Refusals charge nothing, so probing does not disturb the state.
     * Leaves the clock at the instant of success (the request then holds its tokens).
     */
    async function expectRetryHonest(rules: readonly LimitRule[], tokens: number): Promise<number> {
      const start = now;
      const first = await refused(rules, tokens);
      const retry = first.retryAfterSeconds;
      expect(retry, describeRefusal(first)).not.toBeNull();
      expect(Number.isInteger(retry)).toBe(true);
      expect(retry).toBeGreaterThanOrEqual(1);
      now = start + (retry! - 1) * SEC;
      const before = await limiter.reserve(rules, tokens);
      expect(before.ok, `one second before the retry (+${retry! - 1} s) the request must still be refused`).toBe(false);
      if (!before.ok) expect(before.retryAfterSeconds).toBe(1);
      now = start + retry! * SEC;
      const after = await limiter.reserve(rules, tokens);
      expect(after.ok, `after retryAfter (${retry} s): ${describeRefusal(after)}`).toBe(true);
      return retry!;
    }

    describe('admission', () => {
      it('admits up to the TPM limit and refuses one token more', async () => {
        const rule = makeRule({ tpm: 100 });
        await admit([rule], 60);
        await admit([rule], 40);
        const r = await refused([rule], 1);
        expect(r.ok).toBe(false);
        expect(r.rule.id).toBe(rule.id);
        expect(r.kind).toBe('tpm');
        expect(r.limit).toBe(100);
        expect(r.periodEnd).toBeNull();
        expect(r.retryAfterSeconds).toBe(60);
        expect(await tpmUsed(rule)).toBe(100);
      });

      it('admits up to the quota and refuses one token more', async () => {
        const rule = makeRule({ quota: 500, period: 'daily' });
        await admit([rule], 499);
        await admit([rule], 1);
        const r = await refused([rule], 1);
        expect(r.rule.id).toBe(rule.id);
        expect(r.kind).toBe('quota');
        expect(r.limit).toBe(500);
        expect(r.periodEnd).toBe(Date.UTC(2030, 4, 16));
        expect(r.retryAfterSeconds).toBe(14 * 3600); // 10:00 → midnight
        expect(await quotaUsed(rule)).toBe(500);
      });

      it('a rule without limits admits anything and reports nothing', async () => {
        const rule = makeRule({});
        await admit([rule], 1_000_000_000);
        await admit([], 5);
        expect(await limiter.peek(rule)).toEqual({ tpm: null, quota: null });
      });

      it('charges every rule that applies', async () => {
        const a = makeRule({ tpm: 1000 });
        const b = makeRule({ quota: 5000, period: 'monthly' });
        const c = makeRule({ tpm: 2000, quota: 9000, period: 'hourly' });
        await admit([a, b, c], 300);
        expect(await tpmUsed(a)).toBe(300);
        expect(await quotaUsed(b)).toBe(300);
        expect(await limiter.peek(c)).toMatchObject({ tpm: { used: 300 }, quota: { used: 300 } });
      });

      it('is all-or-nothing: when one rule refuses, no rule is charged', async () => {
        const fits = makeRule({ tpm: 1000, quota: 1000, period: 'daily' });
        const tight = makeRule({ tpm: 1000, quota: 50, period: 'daily' });
        for (const rules of [
          [fits, tight],
          [tight, fits],
        ]) {
          const r = await refused(rules, 60);
          expect(r.rule.id).toBe(tight.id);
          expect(r.kind).toBe('quota');
        }
        for (const rule of [fits, tight]) {
          expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 0, remaining: 1000 }, quota: { used: 0 } });
        }
        // A TPM refusal by the last rule does not charge the quota of the first either.
        const tpmTight = makeRule({ tpm: 10 });
        await refused([fits, tpmTight], 11);
        expect(await limiter.peek(fits)).toMatchObject({ tpm: { used: 0 }, quota: { used: 0 } });
        await admit([fits, tight], 50);
        expect(await limiter.peek(fits)).toMatchObject({ tpm: { used: 50 }, quota: { used: 50 } });
        expect(await limiter.peek(tight)).toMatchObject({ tpm: { used: 50 }, quota: { used: 50, remaining: 0 } });
      });
    });

    describe('tokens per minute: rolling 60-second window', () => {
      it('tokens leave the window exactly 60 whole seconds after the second they were admitted in', async () => {
        const rule = makeRule({ tpm: 100 });
        now = T0 + 400;
        await admit([rule], 100);
        now = T0 + 59_999;
        await refused([rule], 1);
        expect(await tpmUsed(rule)).toBe(100);
        now = T0 + 60_000;
        expect(await tpmUsed(rule)).toBe(0);
        await admit([rule], 100);
      });

      it('over any 60 consecutive seconds, admitted tokens never exceed the limit', async () => {
        const rule = makeRule({ tpm: 120 });
        const admitted = new Map<number, number>();
        const random = prng(7);
        for (let i = 0; i < 400; i++) {
          now += Math.floor(random() * 1500);
          const tokens = 1 + Math.floor(random() * 40);
          const r = await limiter.reserve([rule], tokens);
          if (r.ok) {
            const s = Math.floor(now / SEC);
            admitted.set(s, (admitted.get(s) ?? 0) + tokens);
          }
        }
        const seconds = [...admitted.keys()];
        const first = Math.min(...seconds);
        const last = Math.max(...seconds);
        let total = 0;
        for (const t of admitted.values()) total += t;
        expect(total).toBeGreaterThan(120 * 3); // enough traffic that the limit mattered
        for (let end = first; end <= last + 59; end++) {
          let sum = 0;
          for (let s = end - 59; s <= end; s++) sum += admitted.get(s) ?? 0;
          expect(sum, `window ending ${end - Math.floor(T0 / SEC)} s`).toBeLessThanOrEqual(120);
        }
      });

      it('retryAfter is when enough of the window has expired, with a sub-second clock (now = 12.3 s)', async () => {
        const rule = makeRule({ tpm: 100 });
        now = T0 + 2_700; // second 2
        await admit([rule], 60);
        now = T0 + 12_300; // second 12
        await admit([rule], 40);
        // 30 more need the 60 tokens of second 2 gone: at second 62, i.e. 49.7 s from now → 50.
        expect((await refused([rule], 30)).retryAfterSeconds).toBe(50);
        // 70 more need the second-12 tokens gone too: second 72 → 59.7 s → 60.
        expect((await refused([rule], 70)).retryAfterSeconds).toBe(60);
        expect(await expectRetryHonest([rule], 30)).toBe(50);
        expect(now).toBe(T0 + 62_300);
      });

      it('retryAfter is honest for exact-second clocks too', async () => {
        const rule = makeRule({ tpm: 100 });
        now = T0 + 5_000;
        await admit([rule], 100);
        now = T0 + 20_000;
        expect(await expectRetryHonest([rule], 1)).toBe(45);
      });

      it('retryAfter is never a constant: it depends on what is in the window', async () => {
        const seen = new Set<number>();
        for (const [i, offset] of [0, 9_999, 30_500, 58_000].entries()) {
          const base = T0 + i * 1_000_000;
          now = base;
          const rule = makeRule({ tpm: 10 });
          await admit([rule], 10);
          now = base + offset;
          seen.add((await refused([rule], 1)).retryAfterSeconds!);
        }
        expect([...seen].sort((x, y) => x - y)).toEqual([2, 30, 51, 60]);
      });

      it('retryAfter is honest for random histories and sub-second instants', async () => {
        const random = prng(20_300_515);
        let checked = 0;
        for (let round = 0; round < 40; round++) {
          const limit = 50 + Math.floor(random() * 200);
          const rule = makeRule({ tpm: limit });
          now = T0 + round * 1_000_000 + Math.floor(random() * 1000);
          // A history over about a minute, up to the limit.
          for (let i = 0; i < 25; i++) {
            now += Math.floor(random() * 4000);
            await limiter.reserve([rule], 1 + Math.floor(random() * (limit / 4)));
          }
          now += Math.floor(random() * 3000);
          const used = await tpmUsed(rule);
          const tokens = Math.min(limit, limit - used + 1 + Math.floor(random() * used));
          if (used + tokens <= limit) continue;
          await expectRetryHonest([rule], tokens);
          checked++;
        }
        expect(checked).toBeGreaterThan(20);
      });

      it('with several TPM limits refusing, retryAfter is when the request fits all of them', async () => {
        for (const [i, order] of (['early-first', 'late-first'] as const).entries()) {
          const base = T0 + i * 1_000_000; // the clock only moves forward
          now = base;
          const early = makeRule({ tpm: 100 }, uniqueRuleId('early'));
          const late = makeRule({ tpm: 100 }, uniqueRuleId('late'));
          await admit([early], 90); // leaves at second 60
          now = base + 30_000;
          await admit([late], 90); // leaves at second 90
          now = base + 40_500;
          const rules = order === 'early-first' ? [early, late] : [late, early];
          const r = await refused(rules, 20);
          expect(r.kind).toBe('tpm');
          // The request fits both only at second 90: 49.5 s → 50. (Reporting the earlier limit's
          // 20 s would send the client back while the other limit still refuses it.)
          expect(r.retryAfterSeconds, `${order}: ${describeRefusal(r)}`).toBe(50);
          expect(await expectRetryHonest(rules, 20)).toBe(50);
        }
      });

      it('a request larger than the TPM limit never fits: retryAfter null, even on an empty window', async () => {
        const rule = makeRule({ tpm: 100 });
        const r = await refused([rule], 101);
        expect(r).toMatchObject({ ok: false, kind: 'tpm', limit: 100, retryAfterSeconds: null, periodEnd: null });
        expect(r.rule.id).toBe(rule.id);
        await admit([rule], 100); // exactly the limit fits
        expect((await refused([rule], 101)).retryAfterSeconds).toBeNull();
      });

      it('peek reports used, remaining and when the window is empty', async () => {
        const rule = makeRule({ tpm: 100 });
        now = T0 + 12_300;
        await admit([rule], 30);
        now = T0 + 40_900;
        await admit([rule], 20);
        now = T0 + 41_000;
        expect((await limiter.peek(rule)).tpm).toEqual({ limit: 100, used: 50, remaining: 50, resetAt: T0 + 100_000 });
        now = T0 + 72_000; // second 12 has left
        expect((await limiter.peek(rule)).tpm).toEqual({ limit: 100, used: 20, remaining: 80, resetAt: T0 + 100_000 });
        now = T0 + 100_000;
        const empty = (await limiter.peek(rule)).tpm!;
        expect(empty).toMatchObject({ limit: 100, used: 0, remaining: 100 });
        expect(empty.resetAt).toBeLessThanOrEqual(now);
      });
    });

    describe('token quota: fixed UTC periods', () => {
      const boundaries: Array<[QuotaPeriod, number, number]> = [
        ['hourly', Date.UTC(2030, 4, 15, 10), Date.UTC(2030, 4, 15, 11)],
        ['daily', Date.UTC(2030, 4, 15), Date.UTC(2030, 4, 16)],
        ['weekly', Date.UTC(2030, 4, 13), Date.UTC(2030, 4, 20)], // Monday to Monday
        ['monthly', Date.UTC(2028, 1, 1), Date.UTC(2028, 2, 1)], // leap February
        ['yearly', Date.UTC(2030, 0, 1), Date.UTC(2031, 0, 1)],
      ];

      it.each(boundaries)('%s: exhausted → refused until the period ends, fresh at the boundary', async (period, start, end) => {
        const rule = makeRule({ quota: 100, period });
        now = end - 2_500;
        await admit([rule], 70);
        await admit([rule], 30);
        const r = await refused([rule], 1);
        expect(r).toMatchObject({ ok: false, kind: 'quota', limit: 100, retryAfterSeconds: 3, periodEnd: end });
        expect(r.rule.id).toBe(rule.id);
        expect((await limiter.peek(rule)).quota).toEqual({ limit: 100, used: 100, remaining: 0, period, periodStart: start, resetAt: end });
        now = end - 1;
        expect((await refused([rule], 1)).retryAfterSeconds).toBe(1);
        now = end;
        expect((await limiter.peek(rule)).quota).toMatchObject({ used: 0, remaining: 100, periodStart: end });
        await admit([rule], 100);
        expect((await refused([rule], 1)).periodEnd).toBe(periodEnd(period, end));
      });

      it('retryAfter counts whole seconds to the end of the period', async () => {
        const rule = makeRule({ quota: 10, period: 'hourly' });
        now = T0 + 59 * 60_000 + 500; // 10:59:00.5
        await admit([rule], 10);
        expect((await refused([rule], 1)).retryAfterSeconds).toBe(60); // 59.5 s → 60
        now = T0 + 3_599_000; // 10:59:59.000
        expect((await refused([rule], 1)).retryAfterSeconds).toBe(1);
      });

      it('a request larger than the quota never fits: retryAfter null, periodEnd set', async () => {
        const rule = makeRule({ quota: 100, period: 'daily' });
        const r = await refused([rule], 101);
        expect(r).toMatchObject({ kind: 'quota', limit: 100, retryAfterSeconds: null, periodEnd: Date.UTC(2030, 4, 16) });
        await admit([rule], 100);
      });

      it('the quota survives the TPM window: it only resets at the period boundary', async () => {
        const rule = makeRule({ tpm: 100, quota: 250, period: 'daily' });
        // Settled at once, so no reservation is left to expire.
        for (const tokens of [100, 100, 50]) {
          await limiter.settle((await admit([rule], tokens)).reservation, tokens);
          now += 60_000;
        }
        const r = await refused([rule], 1);
        expect(r.kind).toBe('quota');
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 0 }, quota: { used: 250, remaining: 0 } });
      });
    });

    describe('which refusal is reported', () => {
      const exhaustedQuota = async () => {
        const rule = makeRule({ quota: 100, period: 'daily' }, uniqueRuleId('quota'));
        await admit([rule], 100);
        return rule;
      };
      const exhaustedTpm = async () => {
        const rule = makeRule({ tpm: 100 }, uniqueRuleId('tpm'));
        await admit([rule], 100);
        return rule;
      };

      it('a quota refusal wins over a TPM refusal, in either order', async () => {
        const q = await exhaustedQuota();
        const t = await exhaustedTpm();
        for (const rules of [
          [q, t],
          [t, q],
        ]) {
          const r = await refused(rules, 10);
          expect(r.rule.id).toBe(q.id);
          expect(r.kind).toBe('quota');
          expect(r.retryAfterSeconds).toBe(14 * 3600);
        }
      });

      it('a request that never fits wins over refusals that would pass with time', async () => {
        const q = await exhaustedQuota();
        const t = await exhaustedTpm();
        const small = makeRule({ tpm: 50 }, uniqueRuleId('small-tpm'));
        for (const rules of [
          [q, t, small],
          [small, t, q],
        ]) {
          const r = await refused(rules, 60);
          expect(r.rule.id).toBe(small.id);
          expect(r).toMatchObject({ kind: 'tpm', retryAfterSeconds: null, limit: 50 });
        }
        const smallQuota = makeRule({ quota: 40, period: 'monthly' }, uniqueRuleId('small-quota'));
        for (const rules of [
          [t, smallQuota],
          [smallQuota, t],
        ]) {
          const r = await refused(rules, 60);
          expect(r.rule.id).toBe(smallQuota.id);
          expect(r).toMatchObject({ kind: 'quota', retryAfterSeconds: null, limit: 40 });
        }
      });

      it('within one rule, a TPM the request can never fit wins over an exhausted quota', async () => {
        const rule = makeRule({ tpm: 100, quota: 1000, period: 'daily' });
        const r1 = await admit([rule], 50);
        await limiter.settle(r1.reservation, 950); // overrun: quota now 950 of 1000
        now += 60_000; // the window is empty again
        const r = await refused([rule], 150); // > TPM 100 (never fits) and 950 + 150 > 1000 (quota)
        expect(r, describeRefusal(r)).toMatchObject({ kind: 'tpm', limit: 100, retryAfterSeconds: null, periodEnd: null });
      });

      it('with several quotas exhausted, retryAfter is when the request fits all of them', async () => {
        const daily = makeRule({ quota: 100, period: 'daily' }, uniqueRuleId('daily'));
        const monthly = makeRule({ quota: 100, period: 'monthly' }, uniqueRuleId('monthly'));
        await admit([daily, monthly], 100);
        for (const rules of [
          [daily, monthly],
          [monthly, daily],
        ]) {
          const r = await refused(rules, 1);
          expect(r.kind).toBe('quota');
          // Fresh only once both periods have ended: at the month's end (2030-06-01).
          expect(r.retryAfterSeconds, describeRefusal(r)).toBe((Date.UTC(2030, 5, 1) - now) / SEC);
          expect(r.periodEnd).toBe(Date.UTC(2030, 5, 1));
        }
      });
    });

    describe('standing after admission', () => {
      it('reflects the tightest TPM and the tightest quota, wherever they are in the list', async () => {
        const roomyTpm = makeRule({ tpm: 500 }, uniqueRuleId('roomy-tpm'));
        const busyTpm = makeRule({ tpm: 1000 }, uniqueRuleId('busy-tpm'));
        const roomyQuota = makeRule({ quota: 10_000, period: 'daily' }, uniqueRuleId('roomy-quota'));
        const busyQuota = makeRule({ quota: 2000, period: 'monthly' }, uniqueRuleId('busy-quota'));
        now = T0 + 5_000;
        await admit([busyTpm], 900);
        await admit([busyQuota], 1500);
        now = T0 + 20_250;
        const { standing } = await admit([roomyTpm, busyQuota, roomyQuota, busyTpm], 50);
        expect(standing.tpm).toMatchObject({ limit: 1000, remaining: 50 });
        expect(standing.quota).toEqual({ limit: 2000, remaining: 450, period: 'monthly', resetAt: Date.UTC(2030, 5, 1) });
        // The window is empty once the tokens of second 20 leave, at second 80: 59.75 s → 60.
        expect(standing.tpm!.resetSeconds).toBe(60);
      });

      it('has no TPM or quota part when no rule has one', async () => {
        const onlyTpm = makeRule({ tpm: 100 });
        const onlyQuota = makeRule({ quota: 100, period: 'weekly' });
        expect((await admit([onlyTpm], 10)).standing).toEqual({ tpm: { limit: 100, remaining: 90, resetSeconds: 60 }, quota: null });
        expect((await admit([onlyQuota], 10)).standing).toEqual({
          tpm: null,
          quota: { limit: 100, remaining: 90, period: 'weekly', resetAt: Date.UTC(2030, 4, 20) },
        });
      });

      it('resetSeconds is honest: the window is empty after that many seconds, not one second earlier', async () => {
        const rule = makeRule({ tpm: 1000 });
        for (const ms of [0, 1, 300, 999]) {
          now += 120_000 + ms;
          await admit([rule], 10);
          now += 10_250;
          const at = now;
          const { standing } = await admit([rule], 20);
          const reset = standing.tpm!.resetSeconds;
          now = at + (reset - 1) * SEC;
          expect(await tpmUsed(rule), `${ms}: one second before the reset`).toBeGreaterThan(0);
          now = at + reset * SEC;
          expect(await tpmUsed(rule), `${ms}: at the reset`).toBe(0);
        }
      });
    });

    describe('settle and release', () => {
      const both = () => makeRule({ tpm: 1000, quota: 5000, period: 'daily' });

      it('settling with less returns the difference', async () => {
        const rule = both();
        const { reservation } = await admit([rule], 100);
        await limiter.settle(reservation, 60);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 60, remaining: 940 }, quota: { used: 60, remaining: 4940 } });
      });

      it('settling with more charges the overrun, even beyond the limit', async () => {
        const rule = makeRule({ tpm: 120, quota: 5000, period: 'daily' });
        const { reservation } = await admit([rule], 100);
        await limiter.settle(reservation, 150);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 150, remaining: 0 }, quota: { used: 150, remaining: 4850 } });
        const r = await refused([rule], 1);
        expect(r.kind).toBe('tpm');
        expect(r.retryAfterSeconds).toBe(60);
      });

      it('settling with exactly the reservation changes nothing; with zero returns everything', async () => {
        const rule = both();
        await limiter.settle((await admit([rule], 100)).reservation, 100);
        expect(await tpmUsed(rule)).toBe(100);
        await limiter.settle((await admit([rule], 70)).reservation, 0);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 100 }, quota: { used: 100 } });
      });

      it('release returns the whole reservation', async () => {
        const rule = both();
        await admit([rule], 30);
        const { reservation } = await admit([rule], 100);
        await limiter.release(reservation);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 30 }, quota: { used: 30 } });
      });

      it('settle and release apply to every rule of the reservation', async () => {
        const a = makeRule({ tpm: 1000 });
        const b = makeRule({ quota: 1000, period: 'hourly' });
        const r1 = await admit([a, b], 100);
        const r2 = await admit([b, a], 200);
        await limiter.settle(r1.reservation, 10);
        await limiter.release(r2.reservation);
        expect(await tpmUsed(a)).toBe(10);
        expect(await quotaUsed(b)).toBe(10);
      });

      it('settling or releasing twice is a no-op', async () => {
        const rule = both();
        const s = await admit([rule], 100);
        await limiter.settle(s.reservation, 60);
        await limiter.settle(s.reservation, 60);
        await limiter.settle(s.reservation, 10);
        await limiter.settle(s.reservation, 500);
        await limiter.release(s.reservation);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 60 }, quota: { used: 60 } });

        const r = await admit([rule], 100);
        await limiter.release(r.reservation);
        await limiter.release(r.reservation);
        await limiter.settle(r.reservation, 80);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 60 }, quota: { used: 60 } });
      });

      // Reserved late in second 0 and settled early in second 60: the second has left the window,
      // yet the reservation (59.5 s old) is still within its TTL.
      it('after the reserved second left the window, an overrun is charged to the current second', async () => {
        const rule = both();
        now = T0 + 999;
        const { reservation } = await admit([rule], 50);
        now = T0 + 60_500;
        await limiter.settle(reservation, 80);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 30 }, quota: { used: 80 } });
        // Charged to second 60: it leaves at second 120.
        now = T0 + 119_999;
        expect(await tpmUsed(rule)).toBe(30);
        now = T0 + 120_000;
        expect(await tpmUsed(rule)).toBe(0);
      });

      it('after the reserved second left the window, a return is moot for the window (the quota still gets it)', async () => {
        const rule = both();
        now = T0 + 999;
        const early = await admit([rule], 50);
        now = T0 + 30_000;
        await admit([rule], 40);
        now = T0 + 60_500; // second 0 left, second 30 still in
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 40 }, quota: { used: 90 } });
        await limiter.settle(early.reservation, 0);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 40 }, quota: { used: 40 } });
      });

      it('a return after the quota period ended does not touch the new period; an overrun is charged to it', async () => {
        const rule = makeRule({ quota: 1000, period: 'hourly' });
        now = T0 + 3_599_000; // 10:59:59
        const returned = await admit([rule], 100);
        const overrun = await admit([rule], 100);
        now = T0 + 3_601_000; // 11:00:01
        await admit([rule], 10);
        await limiter.settle(returned.reservation, 40);
        expect(await quotaUsed(rule)).toBe(10);
        await limiter.settle(overrun.reservation, 130);
        expect(await quotaUsed(rule)).toBe(40);
      });

      it('after a return, the freed tokens can be reserved again at once', async () => {
        const rule = makeRule({ tpm: 100, quota: 150, period: 'daily' });
        const { reservation } = await admit([rule], 100);
        await refused([rule], 50);
        await limiter.settle(reservation, 20);
        await admit([rule], 80);
        await refused([rule], 1);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 100 }, quota: { used: 100 } });
      });
    });

    describe('reservation expiry', () => {
      it('a reservation is held until its TTL and released after it (on the next peek)', async () => {
        const rule = makeRule({ quota: 100, period: 'daily' });
        await admit([rule], 100);
        now = T0 + CONTRACT_TTL_MS - 1;
        expect(await quotaUsed(rule)).toBe(100);
        await refused([rule], 1);
        now = T0 + CONTRACT_TTL_MS + 1;
        expect(await quotaUsed(rule)).toBe(0);
      });

      it('expiry also happens on the next reserve', async () => {
        const rule = makeRule({ quota: 100, period: 'daily' });
        await admit([rule], 100);
        now = T0 + CONTRACT_TTL_MS + 1;
        await admit([rule], 100);
        expect(await quotaUsed(rule)).toBe(100);
      });

      it('reservations expire one by one, each after its own TTL', async () => {
        const rule = makeRule({ quota: 1000, period: 'daily' });
        await admit([rule], 100);
        now = T0 + 10_000;
        await admit([rule], 200);
        now = T0 + 20_000;
        const settled = await admit([rule], 300);
        await limiter.settle(settled.reservation, 250);
        now = T0 + 25_000;
        await admit([rule], 400);
        expect(await quotaUsed(rule)).toBe(950);
        now = T0 + CONTRACT_TTL_MS + 500;
        expect(await quotaUsed(rule)).toBe(850);
        now = T0 + 10_000 + CONTRACT_TTL_MS + 500;
        expect(await quotaUsed(rule)).toBe(650);
        now = T0 + 20_000 + CONTRACT_TTL_MS + 500;
        expect(await quotaUsed(rule)).toBe(650); // settled: not released again
        now = T0 + 25_000 + CONTRACT_TTL_MS + 500;
        expect(await quotaUsed(rule)).toBe(250);
      });

      it('a settle arriving after the expiry charges the full usage, once', async () => {
        const rule = makeRule({ tpm: 1000, quota: 1000, period: 'daily' });
        const { reservation } = await admit([rule], 100);
        now = T0 + CONTRACT_TTL_MS + 5_000;
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 0 }, quota: { used: 0 } });
        await limiter.settle(reservation, 70);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 70 }, quota: { used: 70 } });
        await limiter.settle(reservation, 70);
        await limiter.release(reservation);
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 70 }, quota: { used: 70 } });
        // Charged to the second of the settle: it leaves the window 60 s later.
        now = T0 + CONTRACT_TTL_MS + 5_000 + 60_000;
        expect(await limiter.peek(rule)).toMatchObject({ tpm: { used: 0 }, quota: { used: 70 } });
      });

      it('a release arriving after the expiry is a no-op', async () => {
        const rule = makeRule({ quota: 1000, period: 'daily' });
        const { reservation } = await admit([rule], 100);
        now = T0 + CONTRACT_TTL_MS + 1;
        await admit([rule], 10);
        await limiter.release(reservation);
        expect(await quotaUsed(rule)).toBe(10);
      });
    });

    describe('limit changes', () => {
      it('a lowered TPM keeps the usage and judges the next request against the new value', async () => {
        const v1 = makeRule({ tpm: 100 });
        now = T0 + 10_000;
        await admit([v1], 80);
        now = T0 + 20_000;
        const v2 = changed(v1, { tpm: 50 });
        expect((await limiter.peek(v2)).tpm).toMatchObject({ limit: 50, used: 80, remaining: 0 });
        const r = await refused([v2], 1);
        expect(r).toMatchObject({ kind: 'tpm', limit: 50 });
        expect(r.retryAfterSeconds).toBe(50); // the 80 tokens of second 10 leave at second 70
        await expectRetryHonest([v2], 1);
        expect(await refused([v2], 50)).toMatchObject({ kind: 'tpm', limit: 50 });
        expect(await refused([v2], 51)).toMatchObject({ kind: 'tpm', limit: 50, retryAfterSeconds: null });
      });

      it('a raised TPM keeps the usage and admits up to the new value', async () => {
        const v1 = makeRule({ tpm: 100 });
        await admit([v1], 100);
        await refused([v1], 1);
        const v2 = changed(v1, { tpm: 250 });
        await admit([v2], 150);
        await refused([v2], 1);
        expect((await limiter.peek(v2)).tpm).toMatchObject({ limit: 250, used: 250, remaining: 0 });
      });

      it('a changed quota keeps the usage of the period', async () => {
        const v1 = makeRule({ quota: 1000, period: 'monthly' });
        await admit([v1], 700);
        const lower = changed(v1, { quota: 500 });
        expect(await refused([lower], 1)).toMatchObject({ kind: 'quota', limit: 500 });
        expect((await limiter.peek(lower)).quota).toMatchObject({ limit: 500, used: 700, remaining: 0 });
        const higher = changed(v1, { quota: 2000 });
        await admit([higher], 1300);
        expect(await refused([higher], 1)).toMatchObject({ kind: 'quota', limit: 2000 });
      });

      it('removing the TPM of a rule leaves its quota in force and reports no TPM', async () => {
        const v1 = makeRule({ tpm: 100, quota: 150, period: 'daily' });
        await admit([v1], 100);
        const v2 = changed(v1, { tpm: null });
        await admit([v2], 50);
        expect(await refused([v2], 1)).toMatchObject({ kind: 'quota', limit: 150 });
        expect(await limiter.peek(v2)).toMatchObject({ tpm: null, quota: { used: 150 } });
      });
    });

    describe('concurrency', () => {
      it('64 concurrent reservations never overshoot; refusals are well-formed; settles add up exactly', async () => {
        const random = prng(64);
        now = T0 + 400;
        const tpm = makeRule({ tpm: 600 }, uniqueRuleId('tpm'));
        const quota = makeRule({ quota: 900, period: 'daily' }, uniqueRuleId('quota'));
        const dayEnd = Date.UTC(2030, 4, 16);
        // Some reserve against both rules (in either order), some against one only, so both limits bind.
        const ruleSets = [[tpm, quota], [quota, tpm], [tpm], [quota]];
        const calls = Array.from({ length: 64 }, (_, i) => ({
          rules: ruleSets[i % 4]!,
          tokens: i % 16 === 5 ? 901 + Math.floor(random() * 300) : 1 + Math.floor(random() * 100),
        }));
        const results = await Promise.all(calls.map((c) => limiter.reserve(c.rules, c.tokens)));

        const admitted: Array<{ reservation: Reservation; tokens: number; rules: readonly LimitRule[] }> = [];
        let sumTpm = 0;
        let sumQuota = 0;
        results.forEach((r, i) => {
          const { rules, tokens } = calls[i]!;
          if (!r.ok) return;
          expect(r.reservation.tokens).toBe(tokens);
          admitted.push({ reservation: r.reservation, tokens, rules });
          if (rules.includes(tpm)) sumTpm += tokens;
          if (rules.includes(quota)) sumQuota += tokens;
        });
        expect(sumTpm).toBeLessThanOrEqual(600);
        expect(sumQuota).toBeLessThanOrEqual(900);
        expect(admitted.length).toBeGreaterThan(0);

        let tpmRefusals = 0;
        let quotaRefusals = 0;
        results.forEach((r, i) => {
          if (r.ok) return;
          const { rules, tokens } = calls[i]!;
          const where = `call ${i} (${tokens} tokens): ${describeRefusal(r)}`;
          expect(Object.keys(r).sort(), where).toEqual(['kind', 'limit', 'ok', 'periodEnd', 'retryAfterSeconds', 'rule']);
          expect(rules.map((x) => x.id), where).toContain(r.rule.id);
          if (r.kind === 'quota') {
            quotaRefusals++;
            expect(r.rule.id, where).toBe(quota.id);
            expect(r.limit, where).toBe(900);
            expect(r.periodEnd, where).toBe(dayEnd);
            if (tokens > 900) {
              expect(r.retryAfterSeconds, where).toBeNull();
            } else {
              expect(r.retryAfterSeconds, where).toBe(Math.ceil((dayEnd - now) / SEC));
              // It was refused because it did not fit next to what was admitted.
              expect(sumQuota + tokens, where).toBeGreaterThan(900);
            }
          } else {
            tpmRefusals++;
            expect(r.kind, where).toBe('tpm');
            expect(r.rule.id, where).toBe(tpm.id);
            expect(r.limit, where).toBe(600);
            expect(r.periodEnd, where).toBeNull();
            if (tokens > 600) {
              expect(r.retryAfterSeconds, where).toBeNull();
            } else {
              expect(r.retryAfterSeconds, where).toBe(60); // all was admitted in second 0, at 0.4 s
              expect(sumTpm + tokens, where).toBeGreaterThan(600);
            }
          }
        });
        expect(tpmRefusals).toBeGreaterThan(0);
        expect(quotaRefusals).toBeGreaterThan(0);

        // Settle concurrently: a third with less, a third with more, the rest stays outstanding; release one.
        let expectedTpm = 0;
        let expectedQuota = 0;
        const ops: Array<Promise<void>> = [];
        admitted.forEach(({ reservation, tokens, rules }, i) => {
          let used = tokens;
          if (i === 0) {
            used = 0;
            ops.push(limiter.release(reservation));
          } else if (i % 3 === 0) {
            used = Math.floor(tokens / 2);
            ops.push(limiter.settle(reservation, used));
          } else if (i % 3 === 1) {
            used = tokens + 7;
            ops.push(limiter.settle(reservation, used));
          }
          if (rules.includes(tpm)) expectedTpm += used;
          if (rules.includes(quota)) expectedQuota += used;
        });
        await Promise.all(ops);
        const [t, q] = await Promise.all([limiter.peek(tpm), limiter.peek(quota)]);
        expect(t).toEqual({ tpm: { limit: 600, used: expectedTpm, remaining: Math.max(0, 600 - expectedTpm), resetAt: T0 + 60_000 }, quota: null });
        expect(q.tpm).toBeNull();
        expect(q.quota).toEqual({
          limit: 900,
          used: expectedQuota,
          remaining: Math.max(0, 900 - expectedQuota),
          period: 'daily',
          periodStart: Date.UTC(2030, 4, 15),
          resetAt: dayEnd,
        });
      });

      it('concurrent reservations across rules stay all-or-nothing', async () => {
        const random = prng(4242);
        const a = makeRule({ tpm: 300 }, uniqueRuleId('a'));
        const b = makeRule({ tpm: 300 }, uniqueRuleId('b'));
        const sets = [[a], [b], [a, b], [b, a]];
        const calls = Array.from({ length: 64 }, () => ({ rules: sets[Math.floor(random() * sets.length)]!, tokens: 1 + Math.floor(random() * 40) }));
        const results = await Promise.all(calls.map((c) => limiter.reserve(c.rules, c.tokens)));
        let sumA = 0;
        let sumB = 0;
        results.forEach((r, i) => {
          if (!r.ok) return;
          const c = calls[i]!;
          if (c.rules.includes(a)) sumA += c.tokens;
          if (c.rules.includes(b)) sumB += c.tokens;
        });
        expect(sumA).toBeLessThanOrEqual(300);
        expect(sumB).toBeLessThanOrEqual(300);
        expect(await tpmUsed(a)).toBe(sumA);
        expect(await tpmUsed(b)).toBe(sumB);
      });
    });

    describe('money budgets: micro-units in the same all-or-nothing step', () => {
      const budgetRule = (micros: number, period: QuotaPeriod = 'monthly', id = uniqueRuleId('budget')): LimitRule => ({
        id,
        tokensPerMinute: null,
        tokenQuota: micros,
        quotaPeriod: period,
        unit: 'micros',
      });

      it('reserves tokens and cost together; a budget that refuses charges no token limit', async () => {
        const tokens = makeRule({ tpm: 1000, quota: 5000 });
        const budget = budgetRule(10_000);
        const refusedByBudget = await limiter.reserve([tokens, budget], 100, 10_001);
        expect(refusedByBudget.ok).toBe(false);
        if (!refusedByBudget.ok) {
          expect(refusedByBudget.rule.id).toBe(budget.id);
          expect(refusedByBudget.kind).toBe('quota');
          expect(refusedByBudget.limit).toBe(10_000);
          // Larger than the whole budget: no wait makes it fit.
          expect(refusedByBudget.retryAfterSeconds).toBeNull();
        }
        expect(await tpmUsed(tokens)).toBe(0);
        expect(await quotaUsed(tokens)).toBe(0);
        expect(await quotaUsed(budget)).toBe(0);

        const first = await limiter.reserve([tokens, budget], 100, 6_000);
        expect(first.ok).toBe(true);
        expect(await quotaUsed(tokens)).toBe(100);
        expect(await quotaUsed(budget)).toBe(6_000);
        // The standing (rate-limit headers) speaks of tokens only.
        if (first.ok) expect(first.standing.quota?.limit).toBe(5000);

        // 6000 + 5000 > 10000: refused until the period ends, tokens untouched.
        const second = await limiter.reserve([tokens, budget], 10, 5_000);
        expect(second.ok).toBe(false);
        if (!second.ok) {
          const monthEnd = Date.UTC(2030, 5, 1);
          expect(second.rule.id).toBe(budget.id);
          expect(second.periodEnd).toBe(monthEnd);
          expect(second.retryAfterSeconds).toBe(Math.ceil((monthEnd - now) / SEC));
        }
        expect(await quotaUsed(tokens)).toBe(100);

        if (!first.ok) return;
        await limiter.settle(first.reservation, 70, 4_321);
        expect(await quotaUsed(tokens)).toBe(70);
        expect(await tpmUsed(tokens)).toBe(70);
        expect(await quotaUsed(budget)).toBe(4_321);
        // Settled once: a second settle changes nothing.
        await limiter.settle(first.reservation, 1, 1);
        expect(await quotaUsed(budget)).toBe(4_321);
      });

      it('returns the cost on release, and charges an overrun of the cost on settle', async () => {
        const budget = budgetRule(1_000_000, 'daily');
        const a = await limiter.reserve([budget], 50, 400_000);
        const b = await limiter.reserve([budget], 50, 300_000);
        if (!a.ok || !b.ok) throw new Error('expected both admitted');
        await limiter.release(a.reservation);
        expect(await quotaUsed(budget)).toBe(300_000);
        await limiter.settle(b.reservation, 60, 350_001);
        expect(await quotaUsed(budget)).toBe(350_001);
      });

      it('64 concurrent reservations never push reserved or settled spend over the budget', async () => {
        const random = prng(2064);
        const budget = budgetRule(1_000_000, 'daily');
        const tpm = makeRule({ tpm: 100_000 });
        const calls = Array.from({ length: 64 }, () => {
          const micros = 20_000 + Math.floor(random() * 60_000);
          return { tokens: 1 + Math.floor(random() * 500), micros, used: Math.floor(micros * random()) };
        });
        const results = await Promise.all(calls.map((c) => limiter.reserve([tpm, budget], c.tokens, c.micros)));
        let reserved = 0;
        let settled = 0;
        results.forEach((r, i) => {
          if (!r.ok) {
            expect(r.rule.id).toBe(budget.id);
            return;
          }
          reserved += calls[i]!.micros;
          settled += calls[i]!.used;
        });
        expect(reserved).toBeLessThanOrEqual(1_000_000);
        expect(results.filter((r) => !r.ok).length).toBeGreaterThan(0);
        expect(await quotaUsed(budget)).toBe(reserved);
        await Promise.all(results.map((r, i) => (r.ok ? limiter.settle(r.reservation, calls[i]!.tokens, calls[i]!.used) : undefined)));
        expect(await quotaUsed(budget)).toBe(settled);
      });
    });

    describe('model check', () => {
      for (const seed of [1, 2, 3, 5, 8, 13]) {
        it(`matches a reference model over random operations (seed ${seed})`, async () => {
          await runModelCheck(seed);
        });
      }

      async function runModelCheck(seed: number): Promise<void> {
        const random = prng(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
        // Three minutes before the top of the hour, so hourly quotas roll over during the run.
        now = Date.UTC(2030, 4, 15, 10, 57, 0) + Math.floor(random() * 1000);
        const models = [
          new RuleModel(makeRule({ tpm: 500, quota: 4000, period: 'hourly' }, uniqueRuleId(`m${seed}-a`))),
          new RuleModel(makeRule({ tpm: 700 }, uniqueRuleId(`m${seed}-b`))),
          new RuleModel(makeRule({ quota: 2500, period: 'hourly' }, uniqueRuleId(`m${seed}-c`))),
        ];
        const held: ModelReservation[] = [];
        const all: ModelReservation[] = [];
        let admissions = 0;
        let refusals = 0;
        let expiries = 0;
        let lateSettles = 0;

        // Mostly an outstanding reservation; sometimes an expired one (late) or any (repeated).
        const pickTarget = (): ModelReservation | null => {
          const dice = random();
          const live = held.filter((x) => !x.lost);
          const expired = all.filter((x) => x.state === 'expired');
          if (dice < 0.75 && live.length) return pick(live);
          if (dice < 0.9 && expired.length) return pick(expired);
          return all.length ? pick(all) : null;
        };

        const sweep = () => {
          for (const r of held.splice(0)) {
            if (r.reservedAt + CONTRACT_TTL_MS < now) {
              r.state = 'expired';
              expiries++;
              for (const m of r.rules) m.correct(r, -r.tokens, now);
            } else {
              held.push(r);
            }
          }
        };

        const checkPeek = async (where: string) => {
          sweep();
          for (const m of models) {
            const status = await limiter.peek(m.rule);
            m.expectStatus(status, now, `${where}, rule ${m.rule.id}`);
          }
        };

        for (let op = 0; op < 400; op++) {
          const where = `seed ${seed}, op ${op}, +${now - T0} ms`;
          const dice = random();
          if (dice < 0.4) {
            // reserve against a random non-empty subset, in random order
            const rules = models.filter(() => random() < 0.5);
            if (rules.length === 0) rules.push(pick(models));
            rules.sort(() => random() - 0.5);
            const tokens = random() < 0.04 ? 501 + Math.floor(random() * 300) : 1 + Math.floor(random() * 150);
            sweep();
            const expectedRefusals = rules.flatMap((m) => m.refusals(tokens, now));
            const result = await limiter.reserve(
              rules.map((m) => m.rule),
              tokens,
            );
            if (expectedRefusals.length === 0) {
              expect(result.ok, `${where}: ${tokens} tokens should fit, but ${describeRefusal(result)}`).toBe(true);
              if (!result.ok) return;
              admissions++;
              // Some requests "get lost": never settled in time, so the TTL has to release them.
              const lost = random() < 0.15;
              const r: ModelReservation = { reservation: result.reservation, tokens, reservedAt: now, rules, quotaStarts: new Map(), state: 'held', lost };
              for (const m of rules) m.admit(r, now);
              held.push(r);
              all.push(r);
              const tpmRemaining = rules.filter((m) => m.rule.tokensPerMinute !== null).map((m) => m.rule.tokensPerMinute! - m.windowUsed(now));
              const quotaRemaining = rules.filter((m) => m.rule.tokenQuota !== null).map((m) => m.rule.tokenQuota! - m.quotaUsed(now));
              expect(result.standing.tpm?.remaining ?? null, where).toBe(tpmRemaining.length ? Math.min(...tpmRemaining) : null);
              expect(result.standing.quota?.remaining ?? null, where).toBe(quotaRemaining.length ? Math.min(...quotaRemaining) : null);
              for (const m of rules) m.expectTpmInvariant(now, where);
            } else {
              expect(result.ok, `${where}: ${tokens} tokens should be refused (${JSON.stringify(expectedRefusals)})`).toBe(false);
              if (result.ok) return;
              refusals++;
              const reported = expectedRefusals.find((e) => e.ruleId === result.rule.id && e.kind === result.kind);
              expect(reported, `${where}: unexpected ${describeRefusal(result)}; expected one of ${JSON.stringify(expectedRefusals)}`).toBeDefined();
              expect(result.retryAfterSeconds, where).toBe(reported!.retryAfterSeconds);
              expect(result.periodEnd, where).toBe(reported!.periodEnd);
              expect(result.limit, where).toBe(reported!.limit);
              const best = Math.max(...expectedRefusals.map((e) => rank(e.kind, e.retryAfterSeconds)));
              expect(rank(result.kind, result.retryAfterSeconds), `${where}: reported ${describeRefusal(result)}; expected ${JSON.stringify(expectedRefusals)}`).toBe(best);
            }
          } else if (dice < 0.6) {
            const r = pickTarget();
            if (!r) continue;
            const used = random() < 0.5 ? Math.floor(random() * r.tokens) : r.tokens + Math.floor(random() * 60);
            await limiter.settle(r.reservation, used);
            settleModel(r, used);
          } else if (dice < 0.7) {
            const r = pickTarget();
            if (!r) continue;
            await limiter.release(r.reservation);
            if (r.state === 'held') {
              r.state = 'done';
              held.splice(held.indexOf(r), 1);
              for (const m of r.rules) m.correct(r, -r.tokens, now);
            }
          } else {
            now += Math.floor(random() * 5000);
            // Never land exactly on a TTL boundary: "within the TTL" is then implementation-defined.
            while (held.some((r) => r.reservedAt + CONTRACT_TTL_MS === now)) now++;
          }
          await checkPeek(where);
        }
        for (const m of models) m.expectTpmInvariantEverywhere(`seed ${seed}, end`);
        // The run must have exercised the interesting paths.
        expect(admissions, `seed ${seed}`).toBeGreaterThan(50);
        expect(refusals, `seed ${seed}`).toBeGreaterThan(10);
        expect(expiries, `seed ${seed}`).toBeGreaterThan(0);
        expect(lateSettles, `seed ${seed}`).toBeGreaterThan(0);

        function settleModel(r: ModelReservation, used: number): void {
          if (r.state === 'held') {
            r.state = 'done';
            held.splice(held.indexOf(r), 1);
            for (const m of r.rules) m.correct(r, used - r.tokens, now);
          } else if (r.state === 'expired') {
            r.state = 'done';
            lateSettles++;
            for (const m of r.rules) m.chargeNow(used, now);
          }
        }
      }
    });
  });
}

interface ModelReservation {
  readonly reservation: Reservation;
  readonly tokens: number;
  readonly reservedAt: number;
  readonly rules: readonly RuleModel[];
  /** Quota period start per rule at admission. */
  readonly quotaStarts: Map<RuleModel, number>;
  state: 'held' | 'done' | 'expired';
  /** Not settled on purpose (unless picked as a late or repeated settle). */
  readonly lost: boolean;
}

interface ExpectedRefusal {
  ruleId: string;
  kind: 'tpm' | 'quota';
  limit: number;
  retryAfterSeconds: number | null;
  periodEnd: number | null;
}

/** The reference model of one limit: tokens per whole second, and quota used per period start. */
class RuleModel {
  /** Everything counted in the window: admissions, returns and overruns, per second. */
  readonly window = new Map<number, number>();
  /** Admissions net of returns, without overruns: what the TPM invariant is about. */
  readonly admitted = new Map<number, number>();
  readonly quota = new Map<number, number>();

  constructor(readonly rule: LimitRule) {}

  windowUsed(nowMs: number): number {
    const second = Math.floor(nowMs / SEC);
    let sum = 0;
    for (const [s, t] of this.window) if (s > second - 60 && s <= second) sum += t;
    return sum;
  }

  quotaUsed(nowMs: number): number {
    return this.rule.quotaPeriod === null ? 0 : (this.quota.get(periodStart(this.rule.quotaPeriod, nowMs)) ?? 0);
  }

  refusals(tokens: number, nowMs: number): ExpectedRefusal[] {
    const out: ExpectedRefusal[] = [];
    const { tokenQuota, quotaPeriod, tokensPerMinute } = this.rule;
    if (tokenQuota !== null && quotaPeriod !== null) {
      const end = periodEnd(quotaPeriod, periodStart(quotaPeriod, nowMs));
      if (tokens > tokenQuota) out.push({ ruleId: this.rule.id, kind: 'quota', limit: tokenQuota, retryAfterSeconds: null, periodEnd: end });
      else if (this.quotaUsed(nowMs) + tokens > tokenQuota) {
        out.push({ ruleId: this.rule.id, kind: 'quota', limit: tokenQuota, retryAfterSeconds: Math.max(1, Math.ceil((end - nowMs) / SEC)), periodEnd: end });
      }
    }
    if (tokensPerMinute !== null) {
      if (tokens > tokensPerMinute) out.push({ ruleId: this.rule.id, kind: 'tpm', limit: tokensPerMinute, retryAfterSeconds: null, periodEnd: null });
      else if (this.windowUsed(nowMs) + tokens > tokensPerMinute) {
        // By definition: the first whole number of seconds after which the request fits (nothing else admitted).
        let k = 1;
        while (this.windowUsed(nowMs + k * SEC) + tokens > tokensPerMinute) k++;
        out.push({ ruleId: this.rule.id, kind: 'tpm', limit: tokensPerMinute, retryAfterSeconds: k, periodEnd: null });
      }
    }
    return out;
  }

  admit(r: ModelReservation, nowMs: number): void {
    const second = Math.floor(nowMs / SEC);
    bump(this.window, second, r.tokens);
    bump(this.admitted, second, r.tokens);
    if (this.rule.quotaPeriod !== null && this.rule.tokenQuota !== null) {
      const start = periodStart(this.rule.quotaPeriod, nowMs);
      r.quotaStarts.set(this, start);
      bump(this.quota, start, r.tokens);
    }
  }

  /** A settle (delta = used - reserved) or a release (delta = -reserved) of a held reservation. */
  correct(r: ModelReservation, delta: number, nowMs: number): void {
    if (delta === 0) return;
    const second = Math.floor(nowMs / SEC);
    const admittedSecond = Math.floor(r.reservedAt / SEC);
    if (admittedSecond > second - 60) {
      bump(this.window, admittedSecond, delta);
      if (delta < 0) bump(this.admitted, admittedSecond, delta);
    } else if (delta > 0) {
      bump(this.window, second, delta);
    }
    const start = r.quotaStarts.get(this);
    if (start === undefined || this.rule.quotaPeriod === null) return;
    const current = periodStart(this.rule.quotaPeriod, nowMs);
    if (current === start) bump(this.quota, start, delta);
    else if (delta > 0) bump(this.quota, current, delta);
  }

  /** A settle of an expired reservation: the full usage, now. */
  chargeNow(used: number, nowMs: number): void {
    bump(this.window, Math.floor(nowMs / SEC), used);
    if (this.rule.quotaPeriod !== null && this.rule.tokenQuota !== null) bump(this.quota, periodStart(this.rule.quotaPeriod, nowMs), used);
  }

  expectStatus(status: LimitStatus, nowMs: number, where: string): void {
    const { tokensPerMinute, tokenQuota, quotaPeriod } = this.rule;
    if (tokensPerMinute === null) {
      expect(status.tpm, where).toBeNull();
    } else {
      const used = this.windowUsed(nowMs);
      expect(status.tpm, where).not.toBeNull();
      expect({ limit: status.tpm!.limit, used: status.tpm!.used, remaining: status.tpm!.remaining }, where).toEqual({
        limit: tokensPerMinute,
        used,
        remaining: Math.max(0, tokensPerMinute - used),
      });
      const second = Math.floor(nowMs / SEC);
      let newest: number | null = null;
      for (const [s, t] of this.window) if (t > 0 && s > second - 60 && s <= second && (newest === null || s > newest)) newest = s;
      if (newest === null) expect(status.tpm!.resetAt, where).toBeLessThanOrEqual(nowMs);
      else expect(status.tpm!.resetAt, where).toBe((newest + 60) * SEC);
    }
    if (tokenQuota === null || quotaPeriod === null) {
      expect(status.quota, where).toBeNull();
    } else {
      const start = periodStart(quotaPeriod, nowMs);
      const used = this.quotaUsed(nowMs);
      expect(status.quota, where).toEqual({
        limit: tokenQuota,
        used,
        remaining: Math.max(0, tokenQuota - used),
        period: quotaPeriod,
        periodStart: start,
        resetAt: periodEnd(quotaPeriod, start),
      });
    }
  }

  /** At admission: every 60-second window containing the current second holds at most the limit. */
  expectTpmInvariant(nowMs: number, where: string): void {
    const limit = this.rule.tokensPerMinute;
    if (limit === null) return;
    const second = Math.floor(nowMs / SEC);
    expect(this.windowUsed(nowMs), `${where}: window after admission`).toBeLessThanOrEqual(limit);
    for (let end = second; end < second + 60; end++) {
      let sum = 0;
      for (let s = end - 59; s <= end; s++) sum += this.admitted.get(s) ?? 0;
      expect(sum, `${where}: admitted in the window ending at second ${end}`).toBeLessThanOrEqual(limit);
    }
  }

  expectTpmInvariantEverywhere(where: string): void {
    const limit = this.rule.tokensPerMinute;
    if (limit === null || this.admitted.size === 0) return;
    const seconds = [...this.admitted.keys()];
    const first = Math.min(...seconds);
    const last = Math.max(...seconds);
    for (let end = first; end <= last + 59; end++) {
      let sum = 0;
      for (let s = end - 59; s <= end; s++) sum += this.admitted.get(s) ?? 0;
      expect(sum, `${where}: admitted in the window ending at second ${end}`).toBeLessThanOrEqual(limit);
    }
  }
}

function bump(map: Map<number, number>, key: number, delta: number): void {
  map.set(key, Math.max(0, (map.get(key) ?? 0) + delta));
}
