import { finalStatus, messageItem, outputTextPart, responseObject, type ResponseShape } from './response-object.js';
import { sseEvent } from './sse.js';

/**
 * The Responses API event sequence for one text message, with increasing sequence numbers.
 * It ends with `response.completed`, or `response.incomplete` when max_output_tokens cut the
 * text, as OpenAI does; there is no [DONE] line.
 */
export function* responseEvents(shape: ResponseShape): Generator<string, void, undefined> {
  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>): string =>
    sseEvent(type, { type, sequence_number: sequence++, ...fields });
  const inText = { item_id: shape.messageId, output_index: 0, content_index: 0 };

  yield event('response.created', { response: responseObject(shape, null) });
  yield event('response.in_progress', { response: responseObject(shape, null) });
  yield event('response.output_item.added', { output_index: 0, item: messageItem(shape, [], false) });
  yield event('response.content_part.added', { ...inText, part: outputTextPart('') });
  let text = '';
  for (const token of shape.generation.tokens()) {
    text += token;
    yield event('response.output_text.delta', { ...inText, delta: token, logprobs: [] });
  }
  yield event('response.output_text.done', { ...inText, text, logprobs: [] });
  yield event('response.content_part.done', { ...inText, part: outputTextPart(text) });
  yield event('response.output_item.done', {
    output_index: 0,
    item: messageItem(shape, [outputTextPart(text)], true),
  });
  yield event(`response.${finalStatus(shape)}`, { response: responseObject(shape, text) });
}
