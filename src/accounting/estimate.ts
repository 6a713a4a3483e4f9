import type { Counting } from '../operations/operation.js';
import { contentText, countChatPromptTokens, countTextTokens } from './count.js';

/**
 * Images are priced by OpenAI in tiles; the gateway cannot see the size without decoding the
 * image, so it reserves a fixed estimate: 85 tokens at `detail: "low"`, otherwise 765 (a
 * 1024×1024 image at high detail). Settlement corrects to the upstream's real count.
 */
export const IMAGE_TOKENS = { low: 85, high: 765 } as const;

/**
 * Anthropic prices an image by its pixels (about width × height / 750, ~1,600 tokens for the
 * largest it keeps unscaled), and a PDF by its pages; neither is known without decoding, so each
 * image or binary document is reserved at this fixed estimate and settled to the real count.
 */
export const ANTHROPIC_ATTACHMENT_TOKENS = 1600;

/**
 * Prompt estimates by request shape, called by the operation specs (src/operations/). Every text
 * of one request counts against one budget (see CountBudget): past it the rest is bounded by its
 * UTF-8 length, never below the real count, so a huge prompt is over-reserved, never under.
 */

function tokens(text: string, { encoding, budget }: Counting): number {
  return countTextTokens(text, encoding, budget);
}

/** Anthropic Messages: the system prompt, each message's content blocks, tool definitions. */
export function anthropicMessagesTokens(body: Record<string, unknown>, counting: Counting): number {
  let total = tokens(contentText(body.system), counting);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    total += 3 + contentBlockTokens((message as { content?: unknown }).content, counting);
  }
  return total + definitionTokens(body, counting);
}

function contentBlockTokens(content: unknown, counting: Counting): number {
  if (typeof content === 'string') return tokens(content, counting);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const block of content) {
    if (!block || typeof block !== 'object') continue;
    const b = block as { type?: unknown; text?: unknown; thinking?: unknown; name?: unknown; input?: unknown; content?: unknown; source?: unknown };
    if (b.type === 'text' && typeof b.text === 'string') total += tokens(b.text, counting);
    else if (b.type === 'thinking' && typeof b.thinking === 'string') total += tokens(b.thinking, counting);
    else if (b.type === 'tool_use') total += (typeof b.name === 'string' ? tokens(b.name, counting) : 0) + jsonTokens(b.input ?? {}, counting);
    else if (b.type === 'tool_result') total += contentBlockTokens(b.content, counting);
    else if (b.type === 'image') total += ANTHROPIC_ATTACHMENT_TOKENS;
    else if (b.type === 'document') {
      const source = b.source as { type?: unknown; data?: unknown; content?: unknown } | null | undefined;
      if (source?.type === 'text' && typeof source.data === 'string') total += tokens(source.data, counting);
      else if (source?.type === 'content') total += contentBlockTokens(source.content, counting);
      else total += ANTHROPIC_ATTACHMENT_TOKENS;
    }
  }
  return total;
}

export function chatTokens(body: Record<string, unknown>, counting: Counting): number {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let total = countChatPromptTokens(messages, counting.encoding, counting.budget);
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const m = message as { content?: unknown; tool_calls?: unknown; function_call?: unknown };
    total += imageTokens(m.content);
    if (Array.isArray(m.tool_calls) || m.function_call) total += jsonTokens(m.tool_calls ?? m.function_call, counting);
  }
  return total + definitionTokens(body, counting);
}

export function responsesTokens(body: Record<string, unknown>, counting: Counting): number {
  let total = typeof body.instructions === 'string' ? tokens(body.instructions, counting) : 0;
  const input = body.input;
  if (typeof input === 'string') total += tokens(input, counting);
  else if (Array.isArray(input)) {
    for (const item of input) {
      if (!item || typeof item !== 'object') continue;
      const i = item as { content?: unknown; output?: unknown; arguments?: unknown };
      // Messages carry `content`; tool results `output`; replayed tool calls `arguments`.
      total += 3 + tokens(contentText(i.content), counting) + imageTokens(i.content);
      if (typeof i.output === 'string') total += tokens(i.output, counting);
      if (typeof i.arguments === 'string') total += tokens(i.arguments, counting);
    }
  }
  return total + definitionTokens(body, counting);
}

/** Tool and function definitions and structured-output schemas are sent to the model too. */
function definitionTokens(body: Record<string, unknown>, counting: Counting): number {
  let total = 0;
  if (Array.isArray(body.tools) && body.tools.length > 0) total += jsonTokens(body.tools, counting);
  if (Array.isArray(body.functions) && body.functions.length > 0) total += jsonTokens(body.functions, counting);
  const format = body.response_format ?? (body.text as { format?: unknown } | undefined)?.format;
  if (format && typeof format === 'object' && (format as { type?: unknown }).type === 'json_schema') total += jsonTokens(format, counting);
  return total;
}

function imageTokens(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    const type = (part as { type?: unknown } | null)?.type;
    if (type !== 'image_url' && type !== 'input_image') continue;
    const p = part as { detail?: unknown; image_url?: { detail?: unknown } };
    total += (p.image_url?.detail ?? p.detail) === 'low' ? IMAGE_TOKENS.low : IMAGE_TOKENS.high;
  }
  return total;
}

/** Strings, arrays of strings, or pre-tokenised input (arrays of token ids, or arrays of those). */
export function textOrTokenArrays(value: unknown, counting: Counting): number {
  if (typeof value === 'string') return tokens(value, counting);
  if (!Array.isArray(value)) return 0;
  let total = 0;
  for (const item of value) {
    if (typeof item === 'string') total += tokens(item, counting);
    else if (typeof item === 'number') total += 1;
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}

function jsonTokens(value: unknown, counting: Counting): number {
  return tokens(JSON.stringify(value), counting);
}
