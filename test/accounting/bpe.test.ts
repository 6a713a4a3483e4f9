import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { BpeCounter, utf8Binary } from '../../src/accounting/bpe.js';
import { loadRankMap } from '../../src/accounting/bpe-ranks.js';
import { CountBudget } from '../../src/accounting/count-budget.js';
import type { Encoding } from '../../src/accounting/encoding.js';
import { MAX_RUN, preTokenizer } from '../../src/accounting/pretokenize.js';
import { mixedText, PATHOLOGICAL, random } from './text-shapes.js';

const ENCODINGS: Encoding[] = ['o200k_base', 'cl100k_base'];
const RANKS = { o200k_base: loadRankMap('o200k_base'), cl100k_base: loadRankMap('cl100k_base') };
/** gpt-tokenizer, the reference; special tokens are text, as in a prompt. */
const REFERENCE = {
  o200k_base: GptEncoding.getEncodingApi('o200k_base', () => o200kRanks),
  cl100k_base: GptEncoding.getEncodingApi('cl100k_base', () => cl100kRanks),
};
const real = (text: string, encoding: Encoding) => REFERENCE[encoding].countTokens(text, { disallowedSpecial: new Set() });
const unlimited = () => new CountBudget(Infinity);

/** Our BPE with pieces as long as the published pattern makes them: should be exact. */
const exact = { o200k_base: new BpeCounter(RANKS.o200k_base, preTokenizer('o200k_base', 1_000_000)), cl100k_base: new BpeCounter(RANKS.cl100k_base, preTokenizer('cl100k_base', 1_000_000)) };
const bounded = { o200k_base: new BpeCounter(RANKS.o200k_base, preTokenizer('o200k_base')), cl100k_base: new BpeCounter(RANKS.cl100k_base, preTokenizer('cl100k_base')) };

const ordinary = [
  ...['README.md', 'docs/limits.md', 'docs/errors.md', 'src/accounting/estimate.ts', 'package.json'].map((f) => readFileSync(f, 'utf8')),
  'Здравствуйте, мир! 你好，世界。こんにちは世界。 مرحبا بالعالم नमस्ते दुनिया',
  'naïve café, Straße, 👍🏽 ✅ — “quoted” ‘text’…',
];

describe('loadRankMap', () => {
  it.each([
    ['o200k_base', o200kRanks],
    ['cl100k_base', cl100kRanks],
  ] as const)('holds every token of %s by its bytes', (encoding, generated) => {
    const ranks = RANKS[encoding];
    let tokens = 0;
    const wrong: number[] = [];
    generated.forEach((token, rank) => {
      tokens++;
      const bytes = typeof token === 'string' ? Buffer.from(token, 'utf8') : Buffer.from(token);
      if (ranks.get(bytes.toString('latin1')) !== rank) wrong.push(rank);
    });
    expect(wrong).toEqual([]);
    expect(ranks.size).toBe(tokens);
  });
});

describe('BpeCounter', () => {
  it.each(ENCODINGS)('counts exactly like gpt-tokenizer with the published pieces (%s)', (encoding) => {
    for (const text of ordinary) expect(exact[encoding].count(text, unlimited())).toBe(real(text, encoding));
    for (let seed = 0; seed < 40; seed++) {
      const text = mixedText(seed, 2000);
      expect(exact[encoding].count(text, unlimited())).toBe(real(text, encoding));
    }
  });

  it.each(ENCODINGS)('with bounded pieces, counts ordinary text the same (%s)', (encoding) => {
    for (const text of ordinary) expect(bounded[encoding].count(text, unlimited())).toBe(real(text, encoding));
  });

  it.each(ENCODINGS)('with bounded pieces, stays within a token or two per cut of a long run (%s)', (encoding) => {
    for (const [name, make] of Object.entries(PATHOLOGICAL)) {
      const text = make(4000); // small enough for gpt-tokenizer's quadratic count
      const cuts = Math.ceil(text.length / MAX_RUN);
      const difference = Math.abs(bounded[encoding].count(text, unlimited()) - real(text, encoding));
      expect({ name, within: difference <= 2 * cuts }).toEqual({ name, within: true });
    }
  });

  it('counts special tokens as the text they are, as in a prompt (gpt-tokenizer throws on them)', () => {
    const text = 'Stop at <|endoftext|> or <|im_start|>user.';
    expect(bounded.o200k_base.count(text, unlimited())).toBe(real(text, 'o200k_base'));
    expect(bounded.o200k_base.count(text, unlimited())).toBeGreaterThan(8);
  });

  it('once the budget is spent, bounds the rest by its UTF-8 length, never below the real count', () => {
    const text = ordinary[1]!;
    const budget = new CountBudget(200_000);
    const counted = bounded.o200k_base.count(text, budget);
    expect(budget.bounded).toBe(true);
    expect(budget.used).toBeLessThan(200_000 + 50_000); // the budget, plus at most one piece
    expect(counted).toBeGreaterThan(real(text, 'o200k_base'));
    expect(counted).toBeLessThanOrEqual(Buffer.byteLength(text));
    // Spent before it starts: the whole text is its byte length.
    const spent = new CountBudget(0);
    expect(bounded.o200k_base.count(text, spent)).toBe(Buffer.byteLength(text));
  });

  it.each(Object.keys(PATHOLOGICAL))('a long run (%s) counted in part then bounded is never below the real count', (shape) => {
    const text = PATHOLOGICAL[shape]!(12_000); // small enough for gpt-tokenizer's quadratic count
    const budget = new CountBudget(30_000);
    const counted = bounded.o200k_base.count(text, budget);
    expect(budget.bounded).toBe(true);
    expect(counted).toBeGreaterThanOrEqual(real(text, 'o200k_base'));
  });

  it('keeps at most a bounded number of merged pieces, however many distinct ones it sees', () => {
    const counter = new BpeCounter(RANKS.o200k_base, preTokenizer('o200k_base'));
    counter.count(PATHOLOGICAL['random letters']!(400_000), unlimited());
    expect(counter.cachedPieces).toBeGreaterThan(1000);
    expect(counter.cachedPieces).toBeLessThanOrEqual(2 * 4096);
  });
});

describe('utf8Binary', () => {
  it('is the UTF-8 bytes, one character each, as Buffer writes them (lone surrogates included)', () => {
    const next = random(7);
    for (let i = 0; i < 500; i++) {
      let text = '';
      for (let k = 0; k < 20; k++) {
        const r = next();
        text += r < 0.3 ? String.fromCharCode(Math.floor(next() * 128)) : r < 0.6 ? String.fromCharCode(Math.floor(next() * 0xffff)) : String.fromCodePoint(0x10000 + Math.floor(next() * 0xfffff));
      }
      expect(utf8Binary(text)).toBe(Buffer.from(text, 'utf8').toString('latin1'));
    }
    expect(utf8Binary('ascii only')).toBe('ascii only');
  });
});
