import { countChatPromptTokens } from '../../accounting/count.js';
import type { UpstreamCall, UpstreamResponse } from '../provider.js';
import { newId, unixSeconds } from './ids.js';
import type { SimulatedOptions } from './options.js';
import { jsonReply, sseReply } from './reply.js';
import { readObjectArray, readTokenCap, wantsStreamUsage } from './request.js';
import { SSE_DONE, chunkStream, sseData } from './sse.js';
import { planGeneration, type Generation } from './text.js';
import { completionUsage } from './usage.js';

export function chatCompletion(call: UpstreamCall, options: SimulatedOptions): UpstreamResponse {
  const messages = readObjectArray(call.body.messages, 'messages');
  const cap = readTokenCap(call.body, ['max_tokens', 'max_completion_tokens']);
  const generation = planGeneration(JSON.stringify(messages), options.completionTokens, cap);
  const promptTokens = countChatPromptTokens(messages);
  const head = {
    id: newId('chatcmpl-sim-'),
    created: unixSeconds(),
    model: call.deployment.upstreamModel,
    system_fingerprint: null,
  };
  const finishReason = generation.truncated ? 'length' : 'stop';
  const usage = completionUsage(promptTokens, generation.count);

  if (!call.stream) {
    return jsonReply(200, {
      ...head,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: generation.text(), refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
    });
  }
  const chunks = chatChunks(head, generation, finishReason, wantsStreamUsage(call.body) ? usage : null);
  return sseReply(chunkStream(chunks, options.chunkDelayMs, call.cancellation.signal));
}

/** OpenAI's chunk sequence: role, one chunk per token, finish, optional usage, [DONE]. */
function* chatChunks(
  head: Record<string, unknown>,
  generation: Generation,
  finishReason: string,
  usage: Record<string, unknown> | null,
): Generator<string, void, undefined> {
  // With include_usage, OpenAI puts "usage": null on every chunk but the final usage chunk.
  const tail = usage === null ? {} : { usage: null };
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    sseData({
      ...head,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...tail,
    });

  yield chunk({ role: 'assistant', content: '', refusal: null }, null);
  for (const token of generation.tokens()) yield chunk({ content: token }, null);
  yield chunk({}, finishReason);
  if (usage !== null) yield sseData({ ...head, object: 'chat.completion.chunk', choices: [], usage });
  yield SSE_DONE;
}
