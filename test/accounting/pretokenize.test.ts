import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CL100K_TOKEN_SPLIT_REGEX, O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { MAX_RUN, Pieces, preTokenizer, unboundedPattern } from '../../src/accounting/pretokenize.js';
import type { Encoding } from '../../src/accounting/encoding.js';
import { mixedText, random } from './text-shapes.js';

const ENCODINGS: Encoding[] = ['o200k_base', 'cl100k_base'];
const PUBLISHED: Record<Encoding, RegExp> = { o200k_base: O200K_TOKEN_SPLIT_REGEX, cl100k_base: CL100K_TOKEN_SPLIT_REGEX };

function unicodePieces(encoding: Encoding, text: string): string[] {
  const pattern = preTokenizer(encoding).unicode;
  const pieces: string[] = [];
  for (let at = 0; at < text.length; ) {
    pattern.lastIndex = at;
    expect(pattern.test(text)).toBe(true);
    pieces.push(text.slice(at, pattern.lastIndex));
    at = pattern.lastIndex;
  }
  return pieces;
}

function cut(encoding: Encoding, text: string): string[] {
  const pieces = new Pieces(preTokenizer(encoding), text);
  const out: string[] = [];
  for (let piece = pieces.next(); piece !== null; piece = pieces.next()) out.push(piece);
  return out;
}

const docs = ['README.md', 'docs/limits.md', 'src/accounting/count.ts'].map((f) => readFileSync(f, 'utf8'));

describe('the patterns', () => {
  it.each(ENCODINGS)('unbounded, cut exactly like gpt-tokenizer’s published pattern (%s)', (encoding) => {
    for (const text of [...docs, ...Array.from({ length: 20 }, (_, i) => mixedText(i, 3000))]) {
      const ours = [...text.matchAll(unboundedPattern(encoding))].map((m) => m[0]);
      const theirs = [...text.matchAll(PUBLISHED[encoding])].map((m) => m[0]);
      expect(ours).toEqual(theirs);
    }
  });

  it.each(ENCODINGS)('bounded, cut ordinary text exactly like the unbounded pattern (%s)', (encoding) => {
    for (const text of docs) expect(unicodePieces(encoding, text)).toEqual([...text.matchAll(unboundedPattern(encoding))].map((m) => m[0]));
  });

  it.each(ENCODINGS)('ASCII twin cuts ASCII text exactly like the Unicode pattern (%s)', (encoding) => {
    const ascii = preTokenizer(encoding).ascii;
    for (let seed = 0; seed < 30; seed++) {
      const text = mixedText(seed, 2000).replace(/[\u0080-\uffff]/g, '');
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        ascii.lastIndex = at;
        expect(ascii.test(text)).toBe(true);
        pieces.push(text.slice(at, ascii.lastIndex));
        at = ascii.lastIndex;
      }
      expect(pieces).toEqual(unicodePieces(encoding, text));
    }
  });

  it.each(ENCODINGS)('never make a piece longer than a few MAX_RUN characters (%s)', (encoding) => {
    const longest = 2 * MAX_RUN + 4; // prefix + two runs + a contraction
    for (const text of ['a'.repeat(10_000), 'A'.repeat(10_000), 'aB'.repeat(5000), ' '.repeat(10_000), '\n'.repeat(10_000), ' \n'.repeat(5000), '-'.repeat(10_000), '中'.repeat(10_000), '😀'.repeat(5000), '\u0301'.repeat(10_000), '1'.repeat(10_000)]) {
      const pieces = cut(encoding, text);
      expect(pieces.join('')).toBe(text);
      for (const piece of pieces) expect([...piece].length).toBeLessThanOrEqual(longest);
    }
  });
});

describe('Pieces', () => {
  it.each(ENCODINGS)('switching between the patterns gives exactly the Unicode pattern’s pieces (%s)', (encoding) => {
    for (let seed = 0; seed < 200; seed++) {
      const text = mixedText(seed, 1 + Math.floor(random(seed + 1000)() * 3000));
      expect(cut(encoding, text)).toEqual(unicodePieces(encoding, text));
    }
    for (const text of docs) expect(cut(encoding, text)).toEqual(unicodePieces(encoding, text));
  });

  it.each(ENCODINGS)('switching right before the longest pieces reach a non-ASCII character changes nothing (%s)', (encoding) => {
    // The ASCII pattern stops `reach` before a non-ASCII character: a piece started just before
    // that must not get to it. The longest pieces: a prefix, 32 capitals and 32 small letters
    // and a contraction; punctuation then line feeds and slashes; whitespace then line feeds.
    const runs = (k: number) => ['A'.repeat(k) + 'a'.repeat(k), "-A".repeat(k) + "a's", '.'.repeat(k) + '\n/'.repeat(k), ' '.repeat(k) + '\n'.repeat(k), '7'.repeat(k)];
    for (const after of ['é', 'É', '中', '\u0301', '٣', '\u00a0', '😀']) {
      for (let k = 1; k < 80; k += 3) {
        for (const run of runs(k)) {
          const text = `${'x'.repeat(200)} ${run}${after}tail`;
          expect(cut(encoding, text)).toEqual(unicodePieces(encoding, text));
        }
      }
    }
  });

  it('uses the ASCII pattern for ASCII lines of mixed text', () => {
    const pieces = new Pieces(preTokenizer('o200k_base'), 'plain line\ncafé au lait\nplain again\n');
    const ascii: boolean[] = [];
    for (let piece = pieces.next(); piece !== null; piece = pieces.next()) ascii.push(pieces.ascii);
    expect(ascii[0]).toBe(true);
    expect(ascii.includes(false)).toBe(true);
    expect(ascii.at(-1)).toBe(true);
  });

  it('looks a bounded distance ahead, however long the text', () => {
    // One 4 MB line: no switch point anywhere. Each look ahead scans one window, not the text.
    const text = 'x'.repeat(4 << 20) + 'é';
    const pieces = new Pieces(preTokenizer('o200k_base'), text);
    for (let i = 0; i < 10; i++) pieces.next();
    expect(pieces.scanned).toBeLessThanOrEqual(2 << 16);
  });
});
