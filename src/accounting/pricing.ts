import type { Pricing } from '../domain/model.js';
import type { Usage } from './usage.js';

export type { Pricing };

/**
 * Prices as the data plane uses them: integers of "pico-units per token" (micro-units per
 * million tokens), so a cost is exact integer arithmetic: micro-units = Σ tokens × price / 10^6.
 */
export interface PriceRuntime {
  readonly currency: string;
  readonly input: bigint;
  readonly cachedInput: bigint;
  readonly cacheWrite: bigint;
  readonly output: bigint;
  /** The dearest of input, cached input and cache write: what a prompt is reserved at. */
  readonly promptWorst: bigint;
}

/** Decimal places a price per million tokens may have: a price is held in millionths of its unit. */
export const PRICE_DECIMALS = 6;
/** The largest price per million tokens accepted (in currency units): keeps every cost a safe integer. */
export const MAX_PRICE_PER_MILLION = 1_000_000;

const DECIMAL_ANY = /^(\d{1,10})(?:\.(\d{1,6}))?$/;
const SCALE = 1_000_000n;

/**
 * A decimal price as millionths of its unit, exactly (no float ever sees it); null when it is not
 * a plain decimal (`2.5`, `0.075`, `15`) with at most 6 decimals, or above MAX_PRICE_PER_MILLION.
 */
export function parsePrice(text: string): bigint | null {
  return parseMillionths(text, MAX_PRICE_PER_MILLION);
}

/** A decimal with at most 6 decimals and at most `maxUnits`, as millionths, exactly; null otherwise. */
export function parseMillionths(text: string, maxUnits: number): bigint | null {
  const m = DECIMAL_ANY.exec(text);
  if (!m) return null;
  const value = BigInt(m[1]!) * SCALE + BigInt((m[2] ?? '').padEnd(PRICE_DECIMALS, '0'));
  return value > BigInt(maxUnits) * SCALE ? null : value;
}

/** The largest budget accepted, in currency units: its micro-units stay a safe integer. */
export const MAX_BUDGET = 1_000_000_000;

/** A budget amount (number or decimal string) as micro-units; null when it is not one. */
export function budgetMicros(value: number | string): number | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) && value >= 0 ? String(value) : '') : value.trim();
  const parsed = parseMillionths(text, MAX_BUDGET);
  return parsed === null || parsed === 0n ? null : Number(parsed);
}

/**
 * A price given as a number or a string, as the canonical decimal string stored; null when it is
 * not one (negative, not finite, more than 6 decimals, too large).
 */
export function canonicalPrice(value: number | string): string | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return null;
    // Numbers print their shortest exact form; below 1e-6 that is exponent notation: too fine anyway.
    text = String(value);
  } else text = value.trim();
  const parsed = parsePrice(text);
  if (parsed === null) return null;
  const whole = parsed / SCALE;
  const frac = (parsed % SCALE).toString().padStart(PRICE_DECIMALS, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

/** The runtime form of configured prices (validated at configuration; a bad one throws). */
export function priceRuntime(p: Pricing): PriceRuntime {
  const of = (field: string, text: string | undefined, fallback: bigint | null): bigint => {
    if (text === undefined) {
      if (fallback === null) throw new Error(`pricing.${field} is required`);
      return fallback;
    }
    const v = parsePrice(text);
    if (v === null) throw new Error(`pricing.${field} is not a price: ${text}`);
    return v;
  };
  const input = of('inputPerMillion', p.inputPerMillion, null);
  const output = of('outputPerMillion', p.outputPerMillion, null);
  const cachedInput = of('cachedInputPerMillion', p.cachedInputPerMillion, input);
  const cacheWrite = of('cacheWritePerMillion', p.cacheWritePerMillion, input);
  const promptWorst = [input, cachedInput, cacheWrite].reduce((a, b) => (b > a ? b : a));
  return Object.freeze({ currency: p.currency, input, cachedInput, cacheWrite, output, promptWorst });
}

/**
 * The exact cost of an answer in micro-units of the price's currency. Each kind of token at its
 * price — prompt tokens neither read from nor written to a cache at the input price, cache reads at
 * the cached-input price, cache writes at the cache-write price, output (reasoning included) at the
 * output price — summed exactly, then rounded up once to a whole micro-unit: a fraction of a
 * micro-unit used is charged, never dropped, and rounding happens once per answer, not per kind.
 */
export function costMicros(usage: Usage, price: PriceRuntime): number {
  const cached = BigInt(usage.cachedInput ?? 0);
  const written = BigInt(usage.cacheWrite ?? 0);
  const plain = BigInt(usage.prompt) - cached - written;
  const pico =
    (plain > 0n ? plain : 0n) * price.input + cached * price.cachedInput + written * price.cacheWrite + BigInt(usage.completion) * price.output;
  return Number(ceilDiv(pico, SCALE));
}

/**
 * The most a request may cost, reserved before it is forwarded: every prompt token at the dearest
 * input price (a cache write may cost more than plain input), every reserved completion token at
 * the output price, rounded up.
 */
export function worstCaseMicros(promptTokens: number, completionTokens: number, price: PriceRuntime): number {
  return Number(ceilDiv(BigInt(promptTokens) * price.promptWorst + BigInt(completionTokens) * price.output, SCALE));
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** Micro-units as a decimal string of currency units (exact): 1234567 → "1.234567". */
export function formatMicros(micros: number): string {
  const negative = micros < 0;
  const abs = BigInt(Math.abs(micros));
  const whole = abs / SCALE;
  const frac = (abs % SCALE).toString().padStart(6, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** ISO 4217 codes are three upper-case letters. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
