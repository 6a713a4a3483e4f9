import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogPricing } from '../../src/accounting/price-catalog.js';
import { budgetMicros, canonicalPrice, costMicros, formatMicros, priceRuntime, worstCaseMicros, type Pricing } from '../../src/accounting/pricing.js';
import { SseUsageTap } from '../../src/accounting/sse-usage-tap.js';
import type { Usage } from '../../src/accounting/usage.js';
import type { Operation } from '../../src/operations/operation.js';
import { operationSpec } from '../../src/operations/registry.js';

const DIR = fileURLToPath(new URL('../fixtures/provider-recordings/', import.meta.url));

interface Recording {
  id: string;
  endpoint: Operation;
  stream: boolean;
  file: string;
}
const catalog = JSON.parse(readFileSync(`${DIR}catalog.json`, 'utf8')) as Recording[];

/** The one normalized usage of a recorded answer, read the way the proxy reads it. */
function usageOf(id: string): Usage {
  const r = catalog.find((x) => x.id === id)!;
  const bytes = readFileSync(DIR + r.file);
  if (!r.stream) return operationSpec(r.endpoint).usage(JSON.parse(bytes.toString('utf8')))!;
  const tap = new SseUsageTap(r.endpoint, false);
  tap.push(bytes);
  tap.flush();
  return tap.usage!;
}

/** Prices chosen so every kind of token costs differently (USD per million tokens). */
const PRICES: Pricing = { currency: 'USD', inputPerMillion: '2.5', cachedInputPerMillion: '1.25', cacheWritePerMillion: '3.75', outputPerMillion: '10' };
const price = priceRuntime(PRICES);

describe('cost of the recorded answers, to the micro-unit', () => {
  // Each expected cost worked by hand from the recording's usage: tokens × price per million is
  // micro-units; the sum is rounded up once.
  it.each([
    // OpenAI chat: 8 prompt, 377 completion of which 320 reasoning (priced as output): 8×2.5 + 377×10.
    ['oai-chat-basic', { prompt: 8, completion: 377, reasoning: 320 }, 3790],
    // Responses: 7243 input of which 3072 cached, 423 output: 4171×2.5 + 3072×1.25 + 423×10 = 18497.5 → 18498.
    ['oai-resp-cached', { prompt: 7243, completion: 423, cachedInput: 3072, reasoning: 58 }, 18498],
    ['oai-resp-stream-cached', { prompt: 7112, completion: 463, cachedInput: 3072, reasoning: 64 }, 18570],
    // Anthropic: input 6 + cache write 3337 + cache read 6289, output 198:
    // 6×2.5 + 3337×3.75 + 6289×1.25 + 198×10 = 15 + 12513.75 + 7861.25 + 1980 = 22370.
    ['ant-stream-cache', { prompt: 9632, completion: 198, cachedInput: 6289, cacheWrite: 3337 }, 22370],
    // xAI: 307 prompt (306 cached), 26 completion + 227 reasoning found only in its total:
    // 1×2.5 + 306×1.25 + 253×10 = 2915.
    ['xai-chat-stream-tools', { prompt: 307, completion: 253, cachedInput: 306, reasoning: 227 }, 2915],
    // DeepSeek: 339 prompt of which 320 cache hits, 83 completion: 19×2.5 + 320×1.25 + 830 = 1277.5 → 1278.
    ['deepseek-chat-stream-tools', { prompt: 339, completion: 83, cachedInput: 320, reasoning: 39 }, 1278],
    // Azure, OpenAI-compatible without details (Groq), embeddings.
    ['az-chat-basic', { prompt: 8, completion: 271, reasoning: 192 }, 2730],
    ['groq-chat-stream-tools', { prompt: 210, completion: 15 }, 675],
    ['oai-embeddings-float', { prompt: 7, completion: 0 }, 18],
    ['ant-text', { prompt: 12, completion: 29 }, 320],
  ] as const)('%s', (id, parts, micros) => {
    const usage = usageOf(id);
    expect(usage).toMatchObject(parts);
    expect(costMicros(usage, price)).toBe(micros);
  });

  it('prices cache reads and writes at the input price when none is set', () => {
    const plain = priceRuntime({ currency: 'EUR', inputPerMillion: '3', outputPerMillion: '15' });
    // (6 + 3337 + 6289) × 3 + 198 × 15 = 28896 + 2970.
    expect(costMicros(usageOf('ant-stream-cache'), plain)).toBe(31866);
  });

  it('rounds up once per answer, never per kind of token', () => {
    const tiny = priceRuntime({ currency: 'USD', inputPerMillion: '0.000001', outputPerMillion: '0.000001' });
    expect(costMicros({ prompt: 1, completion: 0, total: 1 }, tiny)).toBe(1);
    expect(costMicros({ prompt: 0, completion: 0, total: 0 }, tiny)).toBe(0);
    const third = priceRuntime({ currency: 'USD', inputPerMillion: '0.333333', outputPerMillion: '0.333334' });
    // 0.333333 + 0.333334 + ... = exactly 1 micro-unit for one of each: no double rounding up.
    expect(costMicros({ prompt: 1, completion: 1, total: 2 }, third)).toBe(1);
  });

  it('stays exact for the largest answers and prices', () => {
    const dear = priceRuntime({ currency: 'USD', inputPerMillion: '999999.999999', outputPerMillion: '1000000' });
    const usage: Usage = { prompt: 10_000_000, completion: 0, total: 10_000_000 };
    expect(costMicros(usage, dear)).toBe(9_999_999_999_990);
    expect(Number.isSafeInteger(worstCaseMicros(10_000_000, 10_000_000, dear))).toBe(true);
  });

  it('reserves every prompt token at the dearest input price and the completion at the output price', () => {
    // 100 × 3.75 (cache writes cost most) + 50 × 10 = 875.
    expect(worstCaseMicros(100, 50, price)).toBe(875);
    // The worst case is never below the real cost of an answer within it.
    expect(worstCaseMicros(9632, 198, price)).toBeGreaterThanOrEqual(costMicros(usageOf('ant-stream-cache'), price));
  });
});

describe('prices and amounts as exact decimals', () => {
  it('keeps a price as a canonical decimal string, never through a float sum', () => {
    expect(canonicalPrice('2.50')).toBe('2.5');
    expect(canonicalPrice(0.075)).toBe('0.075');
    expect(canonicalPrice('15')).toBe('15');
    expect(canonicalPrice('0.0000001')).toBeNull();
    expect(canonicalPrice(-1)).toBeNull();
    expect(canonicalPrice('1e3')).toBeNull();
    expect(canonicalPrice('1000000.000001')).toBeNull();
  });

  it('reads budgets as micro-units and writes them back exactly', () => {
    expect(budgetMicros('25.5')).toBe(25_500_000);
    expect(budgetMicros(0.1)).toBe(100_000);
    expect(budgetMicros('0')).toBeNull();
    expect(budgetMicros('1000000000.000001')).toBeNull();
    expect(formatMicros(25_500_001)).toBe('25.500001');
    expect(formatMicros(7)).toBe('0.000007');
  });

  it('finds catalog prices for dated model names, dated and labelled', () => {
    expect(catalogPricing('gpt-4o-mini-2024-07-18')).toMatchObject({ currency: 'USD', inputPerMillion: '0.15', outputPerMillion: '0.6' });
    expect(catalogPricing('gpt-4o-2024-08-06')?.inputPerMillion).toBe('2.5');
    expect(catalogPricing('claude-sonnet-4-20250514')?.source).toMatch(/^catalog claude-sonnet-4 \d{4}-\d{2}-\d{2}$/);
    expect(catalogPricing('llama3')).toBeNull();
  });
});
