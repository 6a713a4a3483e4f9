import { createRequire } from 'node:module';
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';

/** The BPE encodings Tollgate counts with (the OpenAI families; others are approximated by o200k). */
export type Encoding = 'o200k_base' | 'cl100k_base';

const require = createRequire(import.meta.url);

/**
 * o200k_base is always loaded; cl100k_base (about 10 MB) only once a deployment needs it —
 * warmEncodings() loads it when such a deployment is configured, off the request path.
 */
const COUNTERS: Partial<Record<Encoding, (text: string) => number>> = { o200k_base: countO200k };

function counter(encoding: Encoding): (text: string) => number {
  let count = COUNTERS[encoding];
  if (!count) {
    count = (require(`gpt-tokenizer/cjs/encoding/${encoding}`) as { countTokens: (text: string) => number }).countTokens;
    COUNTERS[encoding] = count;
  }
  return count;
}

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

export function countTextTokens(text: string, encoding: Encoding = 'o200k_base'): number {
  return text.length === 0 ? 0 : counter(encoding)(text);
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
