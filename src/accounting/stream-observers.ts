import type { StreamObserver, StreamState } from '../operations/operation.js';
import { anthropicUsage, type Usage } from './usage.js';

/**
 * How the events of each kind of stream are read, for the operation specs: OpenAI's
 * `choices` chunks, the Responses API's typed events, Anthropic's message events. Stateless
 * constants: the state of a stream is its tap's (StreamState).
 */

/**
 * Chunks with `choices` (chat and text completions): the text of each choice's delta and tool
 * calls; the usage chunk at the end, dropped when the gateway asked for it on the client's behalf.
 */
export function choicesChunkObserver(usageOf: (payload: unknown) => Usage | null, plainText?: (payload: string) => string | null): StreamObserver {
  return {
    plainText,
    event(chunk: Record<string, unknown>, state: StreamState): boolean {
      const choices = chunk.choices;
      if (Array.isArray(choices)) {
        for (const choice of choices) {
          if (!choice || typeof choice !== 'object') continue;
          const c = choice as { delta?: Record<string, unknown> | null; text?: unknown };
          if (typeof c.text === 'string') state.addText(c.text);
          const delta = c.delta;
          if (!delta || typeof delta !== 'object') continue;
          if (typeof delta.content === 'string') state.addText(delta.content);
          if (typeof delta.refusal === 'string') state.addText(delta.refusal);
          if (Array.isArray(delta.tool_calls)) {
            for (const call of delta.tool_calls) {
              const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
              if (typeof fn?.name === 'string') state.addText(fn.name);
              if (typeof fn?.arguments === 'string') state.addText(fn.arguments);
            }
          }
        }
      }
      const usage = chunk.usage ? usageOf(chunk) : null;
      if (!usage) return false;
      state.usage = usage;
      return state.stripUsageChunk && Array.isArray(choices) && choices.length === 0;
    },
  };
}

/** The Responses API's events: text, refusal and argument deltas; the usage of the final response. */
export function responsesEventObserver(usageOf: (payload: unknown) => Usage | null): StreamObserver {
  return {
    event(event: Record<string, unknown>, state: StreamState): boolean {
      const type = event.type;
      if (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta' || type === 'response.refusal.delta') {
        if (typeof event.delta === 'string') state.addText(event.delta);
      } else if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
        state.usage = usageOf(event.response) ?? state.usage;
      }
      return false;
    },
  };
}

/**
 * Anthropic's stream: message_start reports the prompt (and the first output tokens),
 * content_block_start/delta carry the generated text, tool input and thinking, message_delta
 * the cumulative output (and, on newer models, the input) tokens: the final usage.
 */
export const anthropicEventObserver: StreamObserver = {
  plainText: plainTextDelta,
  event(event: Record<string, unknown>, state: StreamState): boolean {
    switch (event.type) {
      case 'message_start': {
        const usage = (event.message as { usage?: unknown } | null)?.usage;
        if (usage && typeof usage === 'object') {
          state.startUsage = usage as Record<string, unknown>;
          state.promptTokens = anthropicUsage(state.startUsage)?.prompt ?? null;
        }
        break;
      }
      case 'content_block_start': {
        const block = event.content_block as { text?: unknown; name?: unknown } | null;
        if (typeof block?.text === 'string') state.addText(block.text);
        if (typeof block?.name === 'string') state.addText(block.name);
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta as { text?: unknown; partial_json?: unknown; thinking?: unknown } | null;
        if (typeof delta?.text === 'string') state.addText(delta.text);
        else if (typeof delta?.partial_json === 'string') state.addText(delta.partial_json);
        else if (typeof delta?.thinking === 'string') state.addText(delta.thinking);
        break;
      }
      case 'message_delta': {
        const usage = event.usage;
        if (usage && typeof usage === 'object') {
          // Its counts are cumulative and may omit the input side: the start's fill the gaps.
          state.usage = anthropicUsage({ ...state.startUsage, ...(usage as Record<string, unknown>) }) ?? state.usage;
        }
        break;
      }
    }
    return false;
  },
};

/** `"delta":{"content":"…"}`: a delta with text and nothing else (escaped quotes cannot match). */
const PLAIN_DELTA = /"delta":\{"content":("(?:[^"\\]|\\.)*")\}/;
const USAGE_KEY = '"usage"';

/**
 * The text of a chat chunk whose only news is one choice's plain text delta, or null when the
 * chunk may hold more (several choices, a role, tool calls, a usage object): those are parsed.
 */
export function plainContentDelta(payload: string): string | null {
  const m = PLAIN_DELTA.exec(payload);
  if (!m || payload.indexOf('"delta"', m.index + 8) !== -1) return null;
  const usage = payload.indexOf(USAGE_KEY);
  if (usage !== -1) {
    // `"usage":null` is in every chunk when usage was asked for; an object is the usage itself.
    let i = usage + USAGE_KEY.length;
    while (i < payload.length && (payload[i] === ' ' || payload[i] === ':' || payload[i] === '\n' || payload[i] === '\t' || payload[i] === '\r')) i++;
    if (payload[i] !== 'n') return null;
  }
  try {
    return JSON.parse(m[1]!) as string;
  } catch {
    return null;
  }
}

/** An Anthropic text delta, the bulk of a Messages stream, as the API writes it. */
const ANTHROPIC_TEXT_DELTA = /^\{"type":"content_block_delta","index":\d+,"delta":\{"type":"text_delta","text":("(?:[^"\\]|\\.)*")\}\}$/;

/** The text of an Anthropic `text_delta` event, or null for any other event (those are parsed). */
export function plainTextDelta(payload: string): string | null {
  const m = ANTHROPIC_TEXT_DELTA.exec(payload);
  if (!m) return null;
  try {
    return JSON.parse(m[1]!) as string;
  } catch {
    return null;
  }
}
