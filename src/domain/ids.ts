import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase

function encodeTime(ms: number): string {
  let time = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

/**
 * Time-ordered ids (48-bit millisecond time + 60 random bits, ULID-like), so "newest first"
 * is "greatest id first" and ids make stable pagination cursors.
 */
export function newId(prefix: string, now = Date.now()): string {
  const bytes = randomBytes(12);
  let rand = '';
  for (let i = 0; i < 12; i++) rand += ALPHABET[bytes[i]! % 32];
  return `${prefix}_${encodeTime(now)}${rand}`;
}

/**
 * Time-ordered ids for high-rate records (one per request): time, then a random prefix drawn once
 * per process (unique across nodes), then a per-process sequence. No randomness per id: cheap on
 * the request path, and ordered within a millisecond on one node.
 */
export class SequentialIds {
  /** This process's part of every id it makes (8 characters): see nodePart(). */
  readonly node: string;
  private seq = 0;
  /** The last millisecond encoded, and its text: requests come several to a millisecond. */
  private lastMs = -1;
  private lastTime = '';

  constructor(private readonly prefix: string) {
    const bytes = randomBytes(8);
    let node = '';
    for (let i = 0; i < 8; i++) node += ALPHABET[bytes[i]! % 32];
    this.node = node;
  }

  private lastId: string | null = null;

  next(now = Date.now()): string {
    this.seq = (this.seq + 1) % 1_073_741_824; // 32^6
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastTime = `${this.prefix}_${encodeTime(now)}${this.node}`;
    }
    return (this.lastId = `${this.lastTime}${this.seq.toString(32).padStart(6, '0')}`);
  }

  /** The last id made, or null. */
  get last(): string | null {
    return this.lastId;
  }
}

/** Where SequentialIds put the node in an id of that prefix (0-based start, length): after the time. */
export function nodePart(prefix: string): { start: number; length: number } {
  return { start: prefix.length + 1 + 10, length: 8 };
}

/** The smallest id of that prefix at or after `ms`: turns a time bound into an id bound. */
export function idBoundAt(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(ms)}`;
}
