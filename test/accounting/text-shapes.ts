/** Texts for the tokenizer's tests: deterministic random mixtures and pathological shapes. */

/** mulberry32: the same random texts on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Texts mixing everything the patterns and the switch points care about, in short runs. */
export function mixedText(seed: number, length: number): string {
  const next = random(seed);
  const atoms = [
    'a', 'Z', 'q', 'word', ' the', 'CamelCase', "'s", "'LL", '7', '2024', ' ', '  ', '\t', '\n', '\n\n', '\r\n', '/', '//', '-', '...', '{', '"',
    'é', 'Straße', 'ǅ', 'ʰ', '中文', 'こんにちは', 'Привет', 'ℕ', '٣', '\u00a0', '\u3000', '\u2028', '😀', '👍🏽', '\u0301', '\ud800',
  ];
  let text = '';
  while (text.length < length) {
    const atom = atoms[Math.floor(next() * atoms.length)]!;
    text += next() < 0.1 ? atom.repeat(1 + Math.floor(next() * 80)) : atom;
  }
  return text;
}


function randomRun(length: number, alphabet: string, seed: number): string {
  const next = random(seed);
  const chars = Array.from(alphabet);
  let text = '';
  while (text.length < length) text += chars[Math.floor(next() * chars.length)];
  return text.slice(0, length);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CJK = Array.from({ length: 500 }, (_, i) => String.fromCodePoint(0x4e00 + i * 29)).join('');

/**
 * Texts an unbounded pre-tokenizer hands to BPE as a few huge pieces (quadratic), by their
 * length in UTF-16 code units. The random ones defeat every cache (another seed, another text).
 */
export const PATHOLOGICAL: Record<string, (length: number, seed?: number) => string> = {
  'one character': (n) => 'a'.repeat(n),
  'a two-character pattern': (n) => 'ab'.repeat(n / 2),
  'a run of digits': (n, seed = 1) => randomRun(n, '0123456789', seed),
  'base64-like': (n, seed = 2) => randomRun(n, BASE64, seed),
  'a non-Latin run': (n, seed = 3) => randomRun(n, CJK, seed),
  'random letters': (n, seed = 4) => randomRun(n, 'abcdefghijklmnopqrstuvwxyz', seed),
  spaces: (n) => ' '.repeat(n),
};
