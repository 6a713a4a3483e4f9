import type { Encoding } from './encoding.js';

/**
 * The pre-tokenizers of the BPE encodings: the regular expressions that cut a text into the
 * pieces BPE then merges (words with their leading space, runs of punctuation, 1–3 digits,
 * whitespace), as gpt-tokenizer and tiktoken write them, with one change: no repetition is
 * unbounded. Each `+` and `*` is at most {@link MAX_RUN} characters.
 *
 * Why: BPE is quadratic in the length of one piece, and an unbounded pattern makes a run of one
 * character, a long word without spaces or a long whitespace run one piece — a 1 MB prompt of
 * one letter held the event loop for minutes. Bounded, a long run becomes pieces of at most a
 * few MAX_RUN characters: BPE is linear in the text, the regular expression does no more than
 * MAX_RUN steps of backtracking per piece, and the count changes by at most a token or two per
 * cut, only in runs longer than MAX_RUN (ordinary words, numbers and indentation are shorter, so
 * ordinary text is cut exactly as before).
 */
export const MAX_RUN = 32;

/** The character classes the patterns are written with: Unicode properties, or their ASCII part. */
interface Classes {
  /** letters */ L: string;
  /** numbers */ N: string;
  /** upper-case, title-case, modifier and other letters, marks: what may open a word */ upperish: string;
  /** lower-case, modifier and other letters, marks: what continues a word */ lowerish: string;
}

const UNICODE: Classes = {
  L: String.raw`\p{L}`,
  N: String.raw`\p{N}`,
  upperish: String.raw`\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}`,
  lowerish: String.raw`\p{Ll}\p{Lm}\p{Lo}\p{M}`,
};

/**
 * The same classes restricted to ASCII, where they are exact: the ASCII letters are Lu or Ll,
 * the ASCII digits are the only ASCII N, no ASCII character is Lt, Lm, Lo or M, and `\s` is the
 * same set in both modes. On ASCII text this pattern cuts exactly like the Unicode one, ~4 times
 * faster (no code-point decoding, no property tables).
 */
const ASCII: Classes = { L: 'A-Za-z', N: '0-9', upperish: 'A-Z', lowerish: 'a-z' };

const CONTRACTION = String.raw`'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])`;

/** `+` and `*`, bounded or not (unbounded only to compare with the published patterns in tests). */
function repeats(bound: number | null): { plus: string; star: string } {
  return bound === null ? { plus: '+', star: '*' } : { plus: `{1,${bound}}`, star: `{0,${bound}}` };
}

/** gpt-tokenizer's o200k_base pattern (tiktoken's, with the contractions spelled out). */
function o200kPattern({ L, N, upperish, lowerish }: Classes, bound: number | null): string {
  const { plus, star } = repeats(bound);
  return [
    String.raw`[^\r\n${L}${N}]?[${upperish}]${star}[${lowerish}]${plus}(?:${CONTRACTION})?`,
    String.raw`[^\r\n${L}${N}]?[${upperish}]${plus}[${lowerish}]${star}(?:${CONTRACTION})?`,
    String.raw`[${N}]{1,3}`,
    String.raw` ?[^\s${L}${N}]${plus}[\r\n/]${star}`,
    String.raw`\s${star}[\r\n]${plus}`,
    String.raw`\s${plus}(?!\S)`,
    String.raw`\s${plus}`,
  ].join('|');
}

/** gpt-tokenizer's cl100k_base pattern. */
function cl100kPattern({ L, N }: Classes, bound: number | null): string {
  const { plus, star } = repeats(bound);
  return [
    CONTRACTION,
    String.raw`[^\r\n${L}${N}]?[${L}]${plus}`,
    String.raw`[${N}]{1,3}`,
    String.raw` ?[^\s${L}${N}]${plus}[\r\n]${star}`,
    String.raw`\s${plus}$`,
    String.raw`\s${star}[\r\n]`,
    String.raw`\s${plus}(?!\S)`,
    String.raw`\s`,
  ].join('|');
}

const PATTERNS: Record<Encoding, (classes: Classes, bound: number | null) => string> = {
  o200k_base: o200kPattern,
  cl100k_base: cl100kPattern,
};

/** A pre-tokenizer: the Unicode pattern, and its ASCII twin for stretches of ASCII text. */
export interface PreTokenizer {
  readonly unicode: RegExp;
  readonly ascii: RegExp;
  /**
   * How far past its start a match may look: the longest piece (a prefix character, two runs, a
   * contraction) and one character of look-ahead.
   */
  readonly reach: number;
}

/**
 * The bounded pre-tokenizer of an encoding. Sticky: a match must start where the last one ended
 * (the patterns match every character, so pieces tile the text).
 */
export function preTokenizer(encoding: Encoding, bound: number = MAX_RUN): PreTokenizer {
  const pattern = PATTERNS[encoding];
  return { unicode: new RegExp(pattern(UNICODE, bound), 'uy'), ascii: new RegExp(pattern(ASCII, bound), 'y'), reach: 2 * bound + 8 };
}

/** The published, unbounded pattern (tests compare it with gpt-tokenizer's). */
export function unboundedPattern(encoding: Encoding): RegExp {
  return new RegExp(PATTERNS[encoding](UNICODE, null), 'gu');
}

const NON_ASCII = /[\u0080-\uffff]/;

/** How far one look for the next stretch reaches, so a huge text is never scanned ahead in one go. */
const STRETCH_WINDOW = 1 << 16;

/**
 * Cuts a text into the pieces of its encoding's pattern: stretches of ASCII text with the ASCII
 * pattern, the rest with the Unicode one, and the pieces are exactly those of the Unicode pattern
 * alone (test/accounting/pretokenize.test.ts checks it on random mixtures). Why that holds:
 * - each stretch starts where the last piece ended, where both patterns start a piece alike
 *   (they look at nothing behind them);
 * - the two class ASCII characters alike, and differ only on non-ASCII letters, marks and
 *   numbers (the ASCII pattern takes them for punctuation);
 * - the ASCII pattern is used only up to a place no match of it started before can reach such a
 *   character: a line start (a match holding the line feed can only go on through whitespace,
 *   line feeds and `/`, and look one character further through `(?!\S)` or `$`, all classed alike
 *   by both), or `reach` characters before the next non-ASCII character. (Right before it would
 *   not do: after punctuation, the ASCII pattern would take a letter into the punctuation.)
 * One per text.
 */
export class Pieces {
  /** Where the next piece starts. */
  position = 0;
  /** Whether the last piece was cut by the ASCII pattern. */
  ascii = false;
  /** Stretches chosen, and characters looked at to choose them, for the caller to pay for. */
  stretches = 0;
  scanned = 0;
  private stretchEnd = 0;

  constructor(
    private readonly pre: PreTokenizer,
    private readonly text: string,
  ) {}

  /** The next piece, or null at the end of the text. */
  next(): string | null {
    const { text, position } = this;
    if (position >= text.length) return null;
    if (position >= this.stretchEnd) this.nextStretch();
    const pattern = this.ascii ? this.pre.ascii : this.pre.unicode;
    pattern.lastIndex = position;
    // test(), not exec(): no match array to allocate. The patterns match any character and never
    // match nothing; were one to fail, one character (a code unit) is taken alone rather than a
    // longer run that BPE would pay for quadratically.
    const end = pattern.test(text) && pattern.lastIndex > position ? pattern.lastIndex : position + 1;
    this.position = end;
    return text.slice(position, end);
  }

  /**
   * Chooses the pattern from the position on, looking at most STRETCH_WINDOW characters ahead:
   * ASCII up to the last line start before the next non-ASCII character or `reach` before it,
   * whichever is later (or to the end of an ASCII text); where that leaves no ASCII, Unicode up to
   * the next line start after the character (or a little further).
   */
  private nextStretch(): void {
    const { text, position: from } = this;
    // Every search stays in this window: a slice shares the text's characters, it copies none.
    const window = text.slice(from, from + STRETCH_WINDOW);
    const found = NON_ASCII.exec(window);
    const bound = found === null ? window.length : found.index;
    this.stretches++;
    this.scanned += bound;
    this.ascii = true;
    if (found === null && from + window.length === text.length) {
      this.stretchEnd = text.length;
      return;
    }
    const end = Math.max(window.lastIndexOf('\n', bound - 1) + 1, bound - this.pre.reach);
    if (end > 0) {
      this.stretchEnd = from + end;
      return;
    }
    const lf = window.indexOf('\n', bound);
    this.ascii = false;
    this.stretchEnd = from + (lf === -1 ? Math.min(window.length, bound + UNICODE_STRETCH) : lf + 1);
    this.scanned += this.stretchEnd - from - bound;
  }
}

/** The shortest Unicode stretch in a text with no line feeds, so the choice is made rarely. */
const UNICODE_STRETCH = 1024;
