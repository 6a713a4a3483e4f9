import { BpeCounter } from './bpe.js';
import { loadRankMap } from './bpe-ranks.js';
import { CountBudget, WORK } from './count-budget.js';
import { encodingFor, type Encoding } from './encoding.js';
import { preTokenizer } from './pretokenize.js';
import { TokenCountCache } from './token-count-cache.js';

export { CountBudget } from './count-budget.js';
export { encodingFor, type Encoding } from './encoding.js';
export { TokenCountCache } from './token-count-cache.js';

const COUNTERS: Partial<Record<Encoding, BpeCounter>> = {};

function counter(encoding: Encoding): BpeCounter {
  let count = COUNTERS[encoding];
  if (!count) {
    count = new BpeCounter(loadRankMap(encoding), preTokenizer(encoding));
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

/** ~1 M characters per generation: some hundred distinct system prompts, a few MB at most. */
const CACHES: Record<Encoding, TokenCountCache> = { o200k_base: new TokenCountCache(1 << 20), cl100k_base: new TokenCountCache(1 << 20) };

/**
 * Tokens of `text` in `encoding`. `budget` is the request's counting budget, shared by all the
 * texts of one request (by default, this text's own): once spent, the rest is bounded instead of
 * counted (see CountBudget).
 */
export function countTextTokens(text: string, encoding: Encoding = 'o200k_base', budget: CountBudget = new CountBudget()): number {
  if (text.length === 0) return 0;
  if (budget.exhausted) return budget.bound(text);
  const cache = CACHES[encoding];
  budget.spend(WORK.text + (text.length <= cache.maxLength ? text.length * WORK.hashChar : 0));
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const tokens = counter(encoding).count(text, budget);
  // Only an exact count is kept: a bound depends on what the request had spent before.
  if (!budget.exhausted) cache.set(text, tokens);
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
export function countChatPromptTokens(messages: readonly unknown[], encoding: Encoding = 'o200k_base', budget: CountBudget = new CountBudget()): number {
  let total = 3;
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const m = message as { role?: unknown; content?: unknown; name?: unknown };
    total += 3;
    if (typeof m.role === 'string') total += countTextTokens(m.role, encoding, budget);
    total += countTextTokens(contentText(m.content), encoding, budget);
    if (typeof m.name === 'string') total += 1 + countTextTokens(m.name, encoding, budget);
  }
  return total;
}
