import { estimatePromptTokens } from '../../operations/registry.js';
import type { UpstreamCall, UpstreamResponse } from '../provider.js';
import { newId } from './ids.js';
import type { SimulatedOptions } from './options.js';
import { jsonReply, sseReply } from './reply.js';
import { InvalidRequest, readObjectArray, readTokenCap } from './request.js';
import { chunkStream, sseEvent } from './sse.js';
import { planGeneration, type Generation } from './text.js';

/**
 * Anthropic's Messages API, answered in its own format: a `message` object, or its event stream
 * (message_start … message_stop) with the usage where Anthropic puts it. The prompt is counted as
 * the gateway estimates it, so the simulated usage is exact and deterministic.
 */
export function anthropicMessage(call: UpstreamCall, options: SimulatedOptions): UpstreamResponse {
  const messages = readObjectArray(call.body.messages, 'messages');
  const cap = readTokenCap(call.body, ['max_tokens']);
  if (cap === null) throw new InvalidRequest('max_tokens: Field required', 'max_tokens');
  const generation = planGeneration(JSON.stringify(messages), options.completionTokens, cap);
  const shape: MessageShape = {
    id: newId('msg_sim_'),
    model: call.deployment.upstreamModel,
    generation,
    inputTokens: estimatePromptTokens('messages', call.body, 'o200k_base'),
    stopReason: generation.truncated ? 'max_tokens' : 'end_turn',
  };
  if (!call.stream) return jsonReply(200, message(shape, [{ type: 'text', text: generation.text() }], shape.stopReason, generation.count));
  return sseReply(chunkStream(messageEvents(shape), options.chunkDelayMs, call.cancellation.signal));
}

/** Anthropic's count_tokens: the prompt's tokens, counted as the simulated model counts them. */
export function countMessageTokens(call: UpstreamCall): UpstreamResponse {
  readObjectArray(call.body.messages, 'messages');
  return jsonReply(200, { input_tokens: estimatePromptTokens('messages', call.body, 'o200k_base') });
}

interface MessageShape {
  id: string;
  model: string;
  generation: Generation;
  inputTokens: number;
  stopReason: string;
}

function message(shape: MessageShape, content: unknown[], stopReason: string | null, outputTokens: number) {
  return {
    id: shape.id,
    type: 'message',
    role: 'assistant',
    model: shape.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: shape.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens },
  };
}

/** Anthropic's event sequence for one text block; message_delta carries the cumulative output usage. */
function* messageEvents(shape: MessageShape): Generator<string, void, undefined> {
  const event = (type: string, fields: Record<string, unknown>) => sseEvent(type, { type, ...fields });
  yield event('message_start', { message: message(shape, [], null, 1) });
  yield event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  yield event('ping', {});
  for (const token of shape.generation.tokens()) {
    yield event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: token } });
  }
  yield event('content_block_stop', { index: 0 });
  yield event('message_delta', {
    delta: { stop_reason: shape.stopReason, stop_sequence: null },
    usage: { output_tokens: shape.generation.count },
  });
  yield event('message_stop', {});
}
