import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { TokenCountCache } from './token-count-cache.js';

export { TokenCountCache } from './token-count-cache.js';

/** The BPE encodings Tollgate counts with (the OpenAI families; others are approximated by o200k). */
export type Encoding = 'o200k_base' | 'cl100k_base';

const require = createRequire(import.meta.url);
const UTF8 = new TextDecoder('utf8', { fatal: true });

/**
 * An encoding's ranks, read from the package's tiktoken data file (one `<token, base64> <rank>`
 * line per token) into what its generated module holds: the token as a string where its bytes
 * are UTF-8, as a byte array where not, holes where ranks skip. Importing the module instead costs
 * ~12 MB more RSS for good: V8 parses its 2 MB array literal with ~17 MB of parser memory that the
 * allocator then keeps, and keeps the 4 MB source as a string (measured: 106 vs 95 MB RSS).
 */
export function loadRanks(encoding: Encoding): (string | number[])[] {
  const data = readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`));
  const ranks: (string | number[])[] = [];
  for (let start = 0; start < data.length; ) {
    let end = data.indexOf(10, start);
    if (end === -1) end = data.length;
    const space = data.indexOf(32, start);
    if (space > start && space < end) {
      const bytes = Buffer.from(data.toString('latin1', start, space), 'base64');
      ranks[Number(data.toString('latin1', space + 1, end))] = utf8OrBytes(bytes);
    }
    start = end + 1;
  }
  return ranks;
}

function utf8OrBytes(bytes: Buffer): string | number[] {
  try {
    const text = UTF8.decode(bytes);
    if (Buffer.byteLength(text) === bytes.length) return text;
  } catch {
    // not UTF-8 on its own: a piece of a multi-byte character
  }
  return Array.from(bytes);
}

const COUNTERS: Partial<Record<Encoding, (text: string) => number>> = {};

function counter(encoding: Encoding): (text: string) => number {
  let count = COUNTERS[encoding];
  if (!count) {
    count = GptEncoding.getEncodingApi(encoding, () => loadRanks(encoding)).countTokens;
    COUNTERS[encoding] = count;
  }
  return count;
}

// o200k_base is always loaded, at start; cl100k_base only once a deployment needs it —
// warmEncodings() loads it when such a deployment is configured, off the request path.
counter('o200k_base');

/** Loads the encodings these upstream models use, so no request waits for one to load. */
export function warmEncodings(models: Iterable<string>): void {
  for (const model of models) counter(encodingFor(model));
}

/** gpt-4, gpt-3.5 and the first embedding models use cl100k_base; everything newer uses o200k_base. */
const CL100K_MODELS = /^(gpt-4(?![o.])|gpt-35|gpt-3\.5|text-embedding-3|text-embedding-ada)/;

/**
 * The encoding for an upstream model name. Unknown models (other vendors, self-hosted) fall back to
 * o200k_base, the encoding of current OpenAI models: close for most modern BPE tokenizers.
 */
export function encodingFor(model: string): Encoding {
  return CL100K_MODELS.test(model) ? 'cl100k_base' : 'o200k_base';
}

/** ~1 M characters per generation: some hundred distinct system prompts, a few MB at most. */
const CACHES: Record<Encoding, TokenCountCache> = { o200k_base: new TokenCountCache(1 << 20), cl100k_base: new TokenCountCache(1 << 20) };

export function countTextTokens(text: string, encoding: Encoding = 'o200k_base'): number {
  if (text.length === 0) return 0;
  const cache = CACHES[encoding];
  let tokens = cache.get(text);
  if (tokens === undefined) {
    tokens = counter(encoding)(text);
    cache.set(text, tokens);
  }
  return tokens;
}

/** Text of an OpenAI message `content`: a string or an array of parts ({type:'text', text}). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      text += (part as { text: string }).text;
    }
  }
  return text;
}

/**
 * Prompt tokens of a chat request's messages, per OpenAI's published accounting for chat models:
 * 3 tokens of framing per message, 1 more for a `name`, and 3 that prime the assistant's reply.
 */
export function countChatPromptTokens(messages: readonly unknown[], encoding: Encoding = 'o200k_base'): number {
  let total = 3;
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const m = message as { role?: unknown; content?: unknown; name?: unknown };
    total += 3;
    if (typeof m.role === 'string') total += countTextTokens(m.role, encoding);
    total += countTextTokens(contentText(m.content), encoding);
    if (typeof m.name === 'string') total += 1 + countTextTokens(m.name, encoding);
  }
  return total;
}
