import { randomInt } from 'node:crypto';

/**
 * Token counts of recently counted texts, for one encoding. Prompts repeat: a system prompt,
 * few-shot examples and tool definitions go out verbatim with every request of an application,
 * and BPE costs ~35 ns per character of English, so a 2,000-token system prompt is ~0.3 ms each
 * time. A lookup hashes the text once (~1 ns per character). Two generations bound the memory:
 * when the newer holds `maxChars` it becomes the older and the oldest is dropped; a hit in the
 * older moves the text back to the newer, so what keeps being used stays.
 *
 * A text is kept only the second time it is counted within a while: most user messages are seen
 * once, and keeping each would fill the generations with strings that outlive the young
 * generation and become old-space garbage (a full collection every few seconds under load). A
 * table of hashes — numbers, no strings — remembers what was seen.
 *
 * What a client cannot do with it: hold more than ~2 × `maxChars` of memory (each entry is
 * charged its characters plus an entry's overhead, so a flood of tiny texts cannot pile up
 * entries either); make a lookup slow. V8 hashes a string longer than 16,383 characters by its
 * length alone, so long texts of one length would all share a hash and each lookup would
 * compare against every one of them, character by character: a long text is keyed instead by
 * its length and a hash with a per-process random seed (which no client can aim collisions at),
 * and the text is kept to confirm a hit.
 */
export class TokenCountCache {
  private newer = new Map<string, Kept>();
  private older = new Map<string, Kept>();
  private weight = 0;
  private readonly seen = new Int32Array(SEEN_SLOTS);

  constructor(private readonly maxChars: number) {}

  get(text: string): number | undefined {
    if (!this.fits(text)) return undefined;
    const key = keyOf(text);
    let kept = this.newer.get(key);
    if (kept === undefined) {
      kept = this.older.get(key);
      if (kept !== undefined) this.keep(key, kept, text.length);
    }
    if (kept === undefined) return undefined;
    if (text.length <= FULLY_HASHED) return typeof kept === 'number' ? kept : undefined;
    return typeof kept === 'object' && kept.text === text ? kept.tokens : undefined;
  }

  /** Called with every text counted: keeps it if it was counted recently already. */
  set(text: string, tokens: number): void {
    if (!this.fits(text)) return;
    const hash = fnv1a(text) | 1; // never 0, the empty slot
    const slot = (hash >>> 16) & (SEEN_SLOTS - 1);
    if (this.seen[slot] !== hash) {
      this.seen[slot] = hash;
      return;
    }
    this.keep(keyOf(text), text.length <= FULLY_HASHED ? tokens : { text, tokens }, text.length);
  }

  /** One text larger than a quarter of the budget would flush the rest: not worth keeping. */
  private fits(text: string): boolean {
    return text.length <= this.maxLength;
  }

  private keep(key: string, kept: Kept, length: number): void {
    const weight = length + ENTRY_OVERHEAD;
    this.weight += weight;
    if (this.weight > this.maxChars) {
      this.older = this.newer;
      this.newer = new Map();
      this.weight = weight;
    }
    this.newer.set(key, kept);
  }

  /** Characters held (both generations): the memory bound, with `entries` × the entry overhead. */
  get size(): number {
    let chars = 0;
    for (const map of [this.newer, this.older]) for (const [key, kept] of map) chars += typeof kept === 'number' ? key.length : kept.text.length;
    return chars;
  }

  /** Entries held (both generations). */
  get entries(): number {
    return this.newer.size + this.older.size;
  }

  /** The longest text kept; longer ones are neither looked up nor hashed. */
  get maxLength(): number {
    return Math.floor(this.maxChars / 4);
  }
}

/** A count, and for a long text the text itself, to confirm that a hash hit is that text. */
type Kept = number | { readonly text: string; readonly tokens: number };

/** What a Map entry, its key's header and the count cost beyond the characters, in characters. */
const ENTRY_OVERHEAD = 64;

/** V8's String::kMaxHashCalcLength: longer strings are hashed by their length only. */
const FULLY_HASHED = 16_383;

/** Texts seen once, as hashes: a newer text with the same slot takes it (a miss costs one BPE count). */
const SEEN_SLOTS = 8192;

/** The text itself, or for a long text its length and a seeded 64-bit hash (a string V8 hashes in full). */
function keyOf(text: string): string {
  if (text.length <= FULLY_HASHED) return text;
  let a = SEED_A;
  let b = SEED_B;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul((b << 5) | (b >>> 27), 0x5bd1e995) ^ c;
  }
  return `${text.length}:${a >>> 0}:${b >>> 0}`;
}

const SEED_A = randomInt(2 ** 31);
const SEED_B = randomInt(2 ** 31);

/** FNV-1a over the UTF-16 code units: ~1 ns per character, far below BPE's cost per character. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
