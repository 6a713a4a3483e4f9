import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/**
 * Token counting shared by the simulated model (its `usage`) and, later, the limiter's prompt
 * estimate, so that both agree exactly. o200k_base is the encoding of current OpenAI models.
 */
export function countTextTokens(text: string): number {
  return text.length === 0 ? 0 : countTokens(text);
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
 * Prompt tokens of a chat request, per OpenAI's published accounting for chat models: 3 tokens of
 * framing per message, 1 more for a `name`, and 3 that prime the assistant's reply.
 */
export function countChatPromptTokens(messages: readonly unknown[]): number {
  let total = 3;
  for (const message of messages) {
    if (!message || typeof message !== 'object') continue;
    const m = message as { role?: unknown; content?: unknown; name?: unknown };
    total += 3;
    if (typeof m.role === 'string') total += countTextTokens(m.role);
    total += countTextTokens(contentText(m.content));
    if (typeof m.name === 'string') total += 1 + countTextTokens(m.name);
  }
  return total;
}
