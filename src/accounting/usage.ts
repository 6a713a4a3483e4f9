/**
 * Tokens one request actually used, as the upstream reported them (or as counted in their
 * absence): the one normalized record of an answer, whatever its provider and operation. Always
 * whole, non-negative, and `prompt + completion = total`. Limits count `total`; cost prices each
 * kind (see pricing.ts); docs/limits.md maps each provider's fields onto these.
 */
export interface Usage {
  /** Every input token: plain input, cache reads and cache writes. */
  prompt: number;
  /** Every output token, reasoning included. */
  completion: number;
  total: number;
  /** Of `prompt`, tokens read from the prompt cache (absent: none reported). */
  cachedInput?: number;
  /** Of `prompt`, tokens written to the prompt cache (Anthropic's cache_creation_input_tokens). */
  cacheWrite?: number;
  /** Of `completion`, reasoning (thinking) tokens, for the record: they are priced as output. */
  reasoning?: number;
  /** Set when the upstream reported more than MAX_ANSWER_TOKENS and the counts were cut to it. */
  capped?: true;
}

/**
 * No upstream answer is believed to have used more tokens than this: a larger count (a bug, or
 * `1e20`) is cut to it and the request logged, so one answer can neither break the ledger's
 * columns nor lock a quota for the rest of its period. Ten million is the largest context window
 * any model advertises: an answer reported beyond it is an upstream's bug, not usage.
 */
export const MAX_ANSWER_TOKENS = 10_000_000;

/**
 * OpenAI's usage: chat/completions/embeddings report prompt_tokens/completion_tokens. Cached
 * prompt tokens are included in the prompt count. The counts are validated (see validUsage); null
 * when there are none, or when they cannot be trusted: the gateway then counts the text as if no
 * usage had come.
 */
export function openaiUsage(payload: unknown): Usage | null {
  const u = usageFieldOf(payload);
  if (u === null) return null;
  const usage = validUsage(count(u.prompt_tokens), count(u.completion_tokens), count(u.total_tokens));
  // DeepSeek reports its cache hits also as prompt_cache_hit_tokens (and in the details).
  const cached = detail(u.prompt_tokens_details, 'cached_tokens') ?? detail(u, 'prompt_cache_hit_tokens');
  return usage && withDetails(usage, cached, 0, detail(u.completion_tokens_details, 'reasoning_tokens'));
}

/** The Responses API's usage: input_tokens/output_tokens, their details (see openaiUsage). */
export function responsesUsage(payload: unknown): Usage | null {
  const u = usageFieldOf(payload);
  if (u === null) return null;
  const usage = validUsage(count(u.input_tokens), count(u.output_tokens), count(u.total_tokens));
  return usage && withDetails(usage, detail(u.input_tokens_details, 'cached_tokens'), 0, detail(u.output_tokens_details, 'reasoning_tokens'));
}

/** A count inside a details object; null when absent or not a count. */
function detail(details: unknown, field: string): number | null {
  if (!details || typeof details !== 'object') return null;
  const v = count((details as Record<string, unknown>)[field]);
  return v === null || Number.isNaN(v) ? null : v;
}

/**
 * The usage with its cache and reasoning parts, each cut to what its whole leaves room for (a
 * part never exceeds the count it is part of); parts of 0 or unreported are left out.
 */
function withDetails(usage: Usage, cached: number | null, written: number | null, reasoning: number | null): Usage {
  const c = Math.min(cached ?? 0, usage.prompt);
  const w = Math.min(written ?? 0, usage.prompt - c);
  const r = Math.min(reasoning ?? 0, usage.completion);
  if (c > 0) usage.cachedInput = c;
  if (w > 0) usage.cacheWrite = w;
  if (r > 0) usage.reasoning = r;
  return usage;
}

/** Anthropic's usage of a message (see anthropicUsage). */
export function messageUsage(payload: unknown): Usage | null {
  const u = usageFieldOf(payload);
  return u === null ? null : anthropicUsage(u);
}

function usageFieldOf(payload: unknown): Record<string, unknown> | null {
  const usage = (payload as { usage?: unknown } | null)?.usage;
  return usage && typeof usage === 'object' ? (usage as Record<string, unknown>) : null;
}

/**
 * Anthropic's usage: input_tokens counts only the prompt tokens after the last cache breakpoint;
 * the prompt is those plus the tokens written to and read from the prompt cache. It reports no
 * total.
 */
export function anthropicUsage(u: Record<string, unknown>): Usage | null {
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === null && output === null) return null;
  // A cache count that is not a count (NaN) carries through the sum: validUsage refuses it.
  const written = count(u.cache_creation_input_tokens);
  const read = count(u.cache_read_input_tokens);
  const prompt = (input ?? 0) + (written ?? 0) + (read ?? 0);
  const usage = validUsage(prompt, output, null);
  return usage && withDetails(usage, read, written, detail(u.output_tokens_details, 'thinking_tokens'));
}

/**
 * A reported count as whole tokens: a fraction is rounded up (a token partly used is used); null
 * when not reported; NaN when reported as anything but a non-negative number.
 */
function count(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'number' && v >= 0 ? Math.ceil(v) : Number.NaN;
}

/**
 * Usage from reported counts (see count()), such that prompt + completion = total:
 * - neither prompt nor completion reported, or either one not a count: null (count the text);
 * - one of them missing: 0 (embeddings report no completion);
 * - a total above prompt + completion: the difference is completion (xAI reports reasoning
 *   tokens only in its total);
 * - a total missing, not a count, or below prompt + completion: prompt + completion;
 * - beyond MAX_ANSWER_TOKENS: cut to it (the prompt first, then the completion), and flagged.
 */
function validUsage(prompt: number | null, completion: number | null, total: number | null): Usage | null {
  if (prompt === null && completion === null) return null;
  let p = prompt ?? 0;
  let c = completion ?? 0;
  if (Number.isNaN(p) || Number.isNaN(c)) return null;
  if (total !== null && total > p + c) c = total - p;
  if (p + c <= MAX_ANSWER_TOKENS) return { prompt: p, completion: c, total: p + c };
  p = Math.min(p, MAX_ANSWER_TOKENS);
  c = Math.min(c, MAX_ANSWER_TOKENS - p);
  return { prompt: p, completion: c, total: p + c, capped: true };
}

/** Generated text of an Anthropic message: text, thinking, tool calls. */
export function messageText(payload: unknown): string {
  const content = (payload as { content?: unknown } | null)?.content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content) {
    const b = block as { text?: unknown; thinking?: unknown; name?: unknown; input?: unknown } | null;
    if (typeof b?.text === 'string') text += b.text;
    if (typeof b?.thinking === 'string') text += b.thinking;
    if (typeof b?.name === 'string') text += b.name + JSON.stringify(b.input ?? {});
  }
  return text;
}

/** Generated text of a Responses answer: output text, refusals, function calls. */
export function responsesText(payload: unknown): string {
  const output = (payload as { output?: unknown } | null)?.output;
  if (!Array.isArray(output)) return '';
  let text = '';
  for (const item of output) {
    if (!item || typeof item !== 'object') continue;
    const i = item as { content?: unknown; arguments?: unknown; name?: unknown };
    if (typeof i.name === 'string') text += i.name;
    if (typeof i.arguments === 'string') text += i.arguments;
    if (!Array.isArray(i.content)) continue;
    for (const part of i.content) {
      const t = part as { text?: unknown; refusal?: unknown } | null;
      if (typeof t?.text === 'string') text += t.text;
      if (typeof t?.refusal === 'string') text += t.refusal;
    }
  }
  return text;
}

/** Generated text of a chat or text completion: its choices' text, refusals and tool calls. */
export function choicesText(payload: unknown): string {
  const choices = (payload as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  let text = '';
  for (const choice of choices) {
    if (!choice || typeof choice !== 'object') continue;
    const c = choice as { text?: unknown; message?: { content?: unknown; refusal?: unknown; tool_calls?: unknown } | null };
    if (typeof c.text === 'string') text += c.text;
    const m = c.message;
    if (!m || typeof m !== 'object') continue;
    if (typeof m.content === 'string') text += m.content;
    if (typeof m.refusal === 'string') text += m.refusal;
    if (Array.isArray(m.tool_calls)) text += JSON.stringify(m.tool_calls);
  }
  return text;
}

/** No generated text (embeddings, token counts). */
export const noText = (): string => '';

const USAGE_KEY = '"usage"';

/**
 * Finds the last `"usage": {...}` object in a JSON document and parses only that, so reading the
 * usage of a long completion does not parse the whole completion. Returns undefined when there
 * is none (or it cannot be isolated); callers then parse the whole document.
 */
/** Bytes at the end of an answer searched first for its usage: it comes last, and is small. */
const TAIL_BYTES = 4096;

/**
 * The `{ usage }` of a JSON answer, decoding only its last bytes, where the usage sits (an
 * embeddings answer can be megabytes of numbers before it); the whole answer only when it is not
 * there. Undefined without one.
 */
export function usageObjectOf(body: Buffer): Record<string, unknown> | undefined {
  if (body.length > TAIL_BYTES) {
    const found = usageObjectFromTail(body.toString('utf8', body.length - TAIL_BYTES));
    if (found) return found;
  }
  return usageObjectFromTail(body.toString('utf8'));
}

export function usageObjectFromTail(text: string): Record<string, unknown> | undefined {
  const key = text.lastIndexOf(USAGE_KEY);
  if (key === -1) return undefined;
  const start = text.indexOf('{', key + USAGE_KEY.length);
  if (start === -1 || text.slice(key + USAGE_KEY.length, start).trim() !== ':') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */ && --depth === 0) {
      try {
        return { usage: JSON.parse(text.slice(start, i + 1)) as unknown };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
