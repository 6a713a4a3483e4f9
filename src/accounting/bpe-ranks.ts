import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Encoding } from './encoding.js';

const require = createRequire(import.meta.url);

/**
 * An encoding's merge ranks, keyed by the token's bytes written as a "binary" string (one
 * character per byte, 0–255), read from gpt-tokenizer's tiktoken data file (one
 * `<token, base64> <rank>` line per token). One key form for every token, UTF-8 or not, so BPE
 * looks up any run of bytes with one Map lookup and no decoding; for ASCII text the key is the
 * text itself. Holds only this Map (~200,000 short one-byte strings): less than gpt-tokenizer's
 * encoder, which keeps a rank array, a string Map and a sorted byte-array table side by side.
 */
export function loadRankMap(encoding: Encoding): Map<string, number> {
  const data = readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`));
  const ranks = new Map<string, number>();
  for (let start = 0; start < data.length; ) {
    let end = data.indexOf(10, start);
    if (end === -1) end = data.length;
    const space = data.indexOf(32, start);
    if (space > start && space < end) {
      const bytes = Buffer.from(data.toString('latin1', start, space), 'base64');
      ranks.set(bytes.toString('latin1'), Number(data.toString('latin1', space + 1, end)));
    }
    start = end + 1;
  }
  return ranks;
}
