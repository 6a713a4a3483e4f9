import { WORK, type CountBudget } from './count-budget.js';
import { Pieces, type PreTokenizer } from './pretokenize.js';

/** No merge: a rank above every real one (ranks are below 2^18). */
const NONE = 0x7fffffff;

/**
 * Counts the tokens of a text with byte-pair encoding, as tiktoken does (its merge loop, the
 * lowest rank first, the leftmost on a tie), in time linear in the text: the pre-tokenizer's
 * pieces are bounded (see pretokenize.ts), so BPE, quadratic in a piece, costs a bounded amount
 * per character. Special tokens (`<|endoftext|>`…) are ordinary text here, as the APIs count
 * them in a prompt.
 *
 * Not re-entrant, but needs no more: JavaScript runs one count at a time.
 */
export class BpeCounter {
  /** Counts of pieces BPE had to merge (words not in the vocabulary), so a repeated one merges once. */
  private readonly merged = new PieceCounts(PIECE_CACHE_ENTRIES);
  /** The rank of every two-byte token, by `first << 8 | second`: BPE's first pass with no Map lookup. */
  private readonly pairRanks = new Int32Array(1 << 16).fill(NONE);
  private start = new Int32Array(256);
  private rank = new Int32Array(256);

  constructor(
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly pre: PreTokenizer,
  ) {
    for (const [bytes, rank] of ranks) if (bytes.length === 2) this.pairRanks[(bytes.charCodeAt(0) << 8) | bytes.charCodeAt(1)] = rank;
  }

  /** Merged pieces whose counts are kept (a bounded number). */
  get cachedPieces(): number {
    return this.merged.size;
  }

  /**
   * The tokens of `text`, spending `budget`. Once the budget is spent, the rest of the text is
   * bounded by its UTF-8 length instead of counted (see CountBudget.bound).
   */
  count(text: string, budget: CountBudget): number {
    const pieces = new Pieces(this.pre, text);
    let tokens = 0;
    for (;;) {
      if (budget.exhausted && pieces.position < text.length) return tokens + budget.bound(text, pieces.position);
      const piece = pieces.next();
      if (piece === null) return tokens;
      budget.spend(WORK.piece + piece.length * (pieces.ascii ? WORK.asciiChar : WORK.unicodeChar) + pieces.stretches * WORK.stretch + pieces.scanned * WORK.scanChar);
      pieces.stretches = 0;
      pieces.scanned = 0;
      // Not by the pattern: a piece the ASCII pattern cut may still end in non-ASCII whitespace.
      tokens += this.pieceTokens(utf8Binary(piece), budget);
    }
  }

  /** Tokens of one piece, given as its UTF-8 bytes in a binary string. */
  private pieceTokens(bytes: string, budget: CountBudget): number {
    budget.spend(WORK.lookup);
    if (bytes.length === 1 || this.ranks.has(bytes)) return 1;
    budget.spend(WORK.lookup);
    const known = this.merged.get(bytes);
    if (known !== undefined) return known;
    budget.spend(WORK.mergedPiece);
    const tokens = this.merge(bytes, budget);
    this.merged.set(bytes, tokens);
    return tokens;
  }

  /** tiktoken's `_byte_pair_merge`: O(length²) steps, so only ever given a bounded piece. */
  private merge(bytes: string, budget: CountBudget): number {
    const length = bytes.length;
    if (this.start.length <= length) {
      this.start = new Int32Array(2 * length);
      this.rank = new Int32Array(2 * length);
    }
    const { start, rank, pairRanks } = this;
    // Boundaries of the current tokens, and the rank of merging each token with the next.
    for (let i = 0; i < length - 1; i++) {
      start[i] = i;
      rank[i] = pairRanks[(bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1)]!;
    }
    start[length - 1] = length - 1;
    rank[length - 1] = NONE;
    start[length] = length;
    rank[length] = NONE;
    let parts = length + 1;
    let lookups = 0;
    let steps = length;
    for (;;) {
      let min = NONE;
      let at = -1;
      for (let i = 0; i < parts - 1; i++) {
        if (rank[i]! < min) {
          min = rank[i]!;
          at = i;
        }
      }
      steps += parts;
      if (at === -1) break;
      // The ranks of merging the new token with its neighbours: bytes from start[i] to start[i + 3].
      if (at > 0) rank[at - 1] = this.rankOf(bytes, start[at - 1]!, start[at + 2]!);
      rank[at] = at + 3 < parts ? this.rankOf(bytes, start[at]!, start[at + 3]!) : NONE;
      lookups += at > 0 ? 2 : 1;
      start.copyWithin(at + 1, at + 2, parts);
      rank.copyWithin(at + 1, at + 2, parts);
      parts--;
    }
    budget.spend(lookups * WORK.mergeLookup + steps * WORK.mergeStep);
    return parts - 1;
  }

  private rankOf(bytes: string, from: number, to: number): number {
    return this.ranks.get(bytes.slice(from, to)) ?? NONE;
  }
}

/**
 * A piece's UTF-8 bytes as a binary string (one character per byte), the rank Map's key form;
 * an ASCII piece is its own. A lone surrogate becomes U+FFFD, as Buffer and TextEncoder write it.
 */
export function utf8Binary(piece: string): string {
  let i = 0;
  while (i < piece.length && piece.charCodeAt(i) < 0x80) i++;
  if (i === piece.length) return piece;
  let bytes = piece.slice(0, i);
  for (; i < piece.length; i++) {
    let c = piece.charCodeAt(i);
    if (c < 0x80) bytes += String.fromCharCode(c);
    else if (c < 0x800) bytes += String.fromCharCode(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const low = piece.charCodeAt(i + 1);
        if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          bytes += String.fromCharCode(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
          i++;
          continue;
        }
        c = 0xfffd;
      }
      bytes += String.fromCharCode(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  return bytes;
}

/**
 * Counts of merged pieces, at most `entries` per generation, two generations: a piece's key is at
 * most ~270 bytes (a bounded piece of 4-byte characters), so at most ~3 MB per encoding, and far
 * less with ordinary text (its words not in the vocabulary are short).
 */
class PieceCounts {
  private newer = new Map<string, number>();
  private older = new Map<string, number>();

  constructor(private readonly entries: number) {}

  get(bytes: string): number | undefined {
    const n = this.newer.get(bytes);
    if (n !== undefined) return n;
    const old = this.older.get(bytes);
    if (old !== undefined) this.set(bytes, old);
    return old;
  }

  get size(): number {
    return this.newer.size + this.older.size;
  }

  set(bytes: string, tokens: number): void {
    if (this.newer.size >= this.entries) {
      this.older = this.newer;
      this.newer = new Map();
    }
    // A copy: a piece is a slice of the request's text, and a slice would keep all of it alive.
    this.newer.set(Buffer.from(bytes, 'latin1').toString('latin1'), tokens);
  }
}

const PIECE_CACHE_ENTRIES = 4096;
