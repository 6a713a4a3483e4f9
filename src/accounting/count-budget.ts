/**
 * The tokenizer work one request may do on the event loop. Counting is synchronous: every other
 * request waits while it runs, so one request's counting must end within a few milliseconds
 * whatever its size. Once a budget is spent, the rest of the request's text is bounded instead
 * of counted (see `bound`): never below the real count, so a huge prompt is over-reserved, never
 * under-reserved, and settlement corrects to the upstream's usage.
 *
 * Work is counted, not time, so that a request always gets the same estimate, on any machine
 * and under any load. Not thread-safe: one per request.
 */
export class CountBudget {
  private spent = 0;
  /** Whether some text was bounded instead of counted: the estimate is then an upper bound. */
  bounded = false;

  constructor(readonly limit: number = REQUEST_COUNT_BUDGET) {}

  spend(units: number): void {
    this.spent += units;
  }

  get exhausted(): boolean {
    return this.spent >= this.limit;
  }

  get used(): number {
    return this.spent;
  }

  /**
   * An upper bound of the tokens of `text` from `from` on, for what the budget no longer covers:
   * its UTF-8 length. BPE's tokens split a text's UTF-8 bytes, each token at least one byte, so
   * no text has more tokens than bytes. Native and linear: ~1 ms per 2 MB of text.
   */
  bound(text: string, from = 0): number {
    this.bounded = true;
    return Buffer.byteLength(from === 0 ? text : text.slice(from), 'utf8');
  }
}

/**
 * ~10 ms of counting per request, leaving the rest of a request's ~20 ms for reading, parsing and
 * forwarding it. How much text that counts exactly depends on the text: ~125 KB of English,
 * ~160 KB of code, ~75–100 KB of Chinese (docs/limits.md, "How prompts are counted").
 */
export const REQUEST_COUNT_BUDGET = 10_000_000;

/**
 * Work weights, in units of about a nanosecond: set with bench/estimate.ts on a 2-CPU machine
 * (shared, so rounded up), such that no kind of text, ordinary or pathological, takes more time
 * than its units. Per text counted (setting up; the cache hashes it, per character); per stretch
 * of one pattern chosen and per character looked at to choose it; per piece cut and per character
 * in it (the Unicode pattern decodes code points and reads property tables, the ASCII one does
 * neither); per rank lookup of a whole piece (mostly frequent tokens, cache-hot); and for a piece
 * BPE must merge, its set-up, each rank lookup (new strings of rare byte runs: cache misses) and
 * each step of the merge loop.
 */
export const WORK = {
  text: 300,
  hashChar: 2,
  stretch: 300,
  scanChar: 1,
  piece: 150,
  asciiChar: 8,
  unicodeChar: 90,
  lookup: 60,
  mergedPiece: 2000,
  mergeLookup: 450,
  mergeStep: 5,
} as const;
