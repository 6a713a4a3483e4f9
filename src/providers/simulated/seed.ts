import { createHash } from 'node:crypto';

/**
 * A deterministic pseudo-random sequence in [0, 1) derived from `source` (SHA-256 seeded
 * mulberry32): the same input always yields the same sequence, on every platform.
 */
export function seededRandom(source: string): () => number {
  let state = createHash('sha256').update(source).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
