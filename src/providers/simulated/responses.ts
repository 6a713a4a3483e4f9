import { countChatPromptTokens, countTextTokens } from '../../accounting/count.js';
import type { UpstreamCall, UpstreamResponse } from '../provider.js';
import { newId, unixSeconds } from './ids.js';
import type { SimulatedOptions } from './options.js';
import { jsonReply, sseReply } from './reply.js';
import { InvalidRequest, isPlainObject, readObjectArray, readTokenCap } from './request.js';
import { responseObject, type ResponseShape } from './response-object.js';
import { responseEvents } from './responses-stream.js';
import { chunkStream } from './sse.js';
import { planGeneration } from './text.js';

export function createResponse(call: UpstreamCall, options: SimulatedOptions): UpstreamResponse {
  const { input, instructions, metadata } = call.body;
  let inputTokens =
    typeof input === 'string' ? countTextTokens(input) : countChatPromptTokens(readObjectArray(input, 'input'));
  if (instructions !== undefined && instructions !== null && typeof instructions !== 'string') {
    throw new InvalidRequest("'instructions' must be a string", 'instructions');
  }
  if (typeof instructions === 'string') inputTokens += countTextTokens(instructions);
  const cap = readTokenCap(call.body, ['max_output_tokens']);

  const shape: ResponseShape = {
    id: newId('resp_sim_'),
    createdAt: unixSeconds(),
    model: call.deployment.upstreamModel,
    instructions: instructions ?? null,
    maxOutputTokens: cap,
    messageId: newId('msg_sim_'),
    inputTokens,
    generation: planGeneration(JSON.stringify([instructions ?? null, input]), options.completionTokens, cap),
    metadata: isPlainObject(metadata) ? metadata : {},
  };
  if (!call.stream) return jsonReply(200, responseObject(shape, shape.generation.text()));
  return sseReply(chunkStream(responseEvents(shape), options.chunkDelayMs, call.cancellation.signal));
}
