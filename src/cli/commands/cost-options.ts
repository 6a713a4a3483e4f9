import { InvalidArgumentError } from 'commander';
import { QUOTA_PERIODS, type Pricing, type QuotaPeriod } from '../../domain/model.js';

/*
 * The CLI's forms of prices and budgets (docs/cost.md); the server validates the values themselves.
 */

const DECIMAL = '(\\d+(?:\\.\\d+)?)';
const PRICING = new RegExp(`^([A-Za-z]{3}):${DECIMAL}/${DECIMAL}(?:/${DECIMAL}(?:/${DECIMAL})?)?$`);
const BUDGET = new RegExp(`^${DECIMAL}\\s*([A-Za-z]{3})\\s*/\\s*([a-z]+)$`);

/**
 * `--pricing USD:2.5/10[/1.25[/3.125]]` (input/output[/cached input[/cache write]] per million
 * tokens), `catalog`, or (update) `none`.
 */
export function pricingOption(value: string): Pricing | 'catalog' | 'none' {
  const text = value.trim();
  if (text === 'catalog' || text === 'none') return text;
  const m = PRICING.exec(text);
  if (!m) {
    throw new InvalidArgumentError(
      '--pricing must be CUR:input/output[/cachedInput[/cacheWrite]] per million tokens (e.g. USD:2.5/10/1.25), "catalog" or "none"',
    );
  }
  return {
    currency: m[1]!.toUpperCase(),
    inputPerMillion: m[2]!,
    outputPerMillion: m[3]!,
    ...(m[4] === undefined ? {} : { cachedInputPerMillion: m[4] }),
    ...(m[5] === undefined ? {} : { cacheWritePerMillion: m[5] }),
  };
}

/** `--budget "25 USD/monthly"` (an amount, a currency, a quota period), or (update) `none`. */
export function budgetOption(value: string): { amount: string; currency: string; period: QuotaPeriod } | 'none' {
  const text = value.trim();
  if (text === 'none') return text;
  const m = BUDGET.exec(text);
  if (!m || !(QUOTA_PERIODS as readonly string[]).includes(m[3]!)) {
    throw new InvalidArgumentError(`--budget must be AMOUNT CUR/PERIOD (e.g. "25 USD/monthly"; periods: ${QUOTA_PERIODS.join(', ')}) or "none"`);
  }
  return { amount: m[1]!, currency: m[2]!.toUpperCase(), period: m[3] as QuotaPeriod };
}

/** A budget as the CLI prints it: "25 USD/monthly". */
export const budgetText = (b: { amount: string; currency: string; period: string } | null | undefined): string | null =>
  b ? `${b.amount} ${b.currency}/${b.period}` : null;
