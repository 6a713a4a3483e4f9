import { countTextTokens } from '../../accounting/count.js';
import type { UpstreamCall, UpstreamResponse } from '../provider.js';
import { newId, unixSeconds } from './ids.js';
import type { SimulatedOptions } from './options.js';
import { jsonReply, sseReply } from './reply.js';
import { InvalidRequest, readTokenCap, wantsStreamUsage } from './request.js';
import { SSE_DONE, chunkStream, sseData } from './sse.js';
import { planGeneration, type Generation } from './text.js';
import { completionUsage } from './usage.js';

const PROMPT_RULE = "'prompt' must be a string, an array of strings, or an array of token ids";

/** Prompt tokens of a legacy `prompt`: strings are counted, token-id arrays by their length. */
function promptTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return countTextTokens(prompt);
  if (!Array.isArray(prompt) || prompt.length === 0) throw new InvalidRequest(PROMPT_RULE, 'prompt');
  if (prompt.every((item) => typeof item === 'number')) return prompt.length;
  let total = 0;
  for (const item of prompt) {
    if (typeof item === 'string') total += countTextTokens(item);
    else if (Array.isArray(item) && item.every((id) => typeof id === 'number')) total += item.length;
    else throw new InvalidRequest(PROMPT_RULE, 'prompt');
  }
  return total;
}

export function textCompletion(call: UpstreamCall, options: SimulatedOptions): UpstreamResponse {
  const prompt = call.body.prompt;
  const promptCount = promptTokens(prompt);
  const cap = readTokenCap(call.body, ['max_tokens']);
  const generation = planGeneration(JSON.stringify(prompt), options.completionTokens, cap);
  const usage = completionUsage(promptCount, generation.count);
  const head = {
    id: newId('cmpl-sim-'),
    object: 'text_completion',
    created: unixSeconds(),
    model: call.deployment.upstreamModel,
    system_fingerprint: null,
  };
  const finishReason = generation.truncated ? 'length' : 'stop';

  if (!call.stream) {
    return jsonReply(200, {
      ...head,
      choices: [{ text: generation.text(), index: 0, logprobs: null, finish_reason: finishReason }],
      usage,
    });
  }
  const chunks = completionChunks(head, generation, finishReason, wantsStreamUsage(call.body) ? usage : null);
  return sseReply(chunkStream(chunks, options.chunkDelayMs, call.cancellation.signal));
}

/** One chunk per token, a finish chunk, an optional usage chunk, then [DONE]. */
function* completionChunks(
  head: Record<string, unknown>,
  generation: Generation,
  finishReason: string,
  usage: Record<string, unknown> | null,
): Generator<string, void, undefined> {
  const tail = usage === null ? {} : { usage: null };
  const chunk = (text: string, finish: string | null): string =>
    sseData({ ...head, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }], ...tail });

  for (const token of generation.tokens()) yield chunk(token, null);
  yield chunk('', finishReason);
  if (usage !== null) yield sseData({ ...head, choices: [], usage });
  yield SSE_DONE;
}
