import type { Generation } from './text.js';

/** Everything a Responses API object of one request is built from. */
export interface ResponseShape {
  readonly id: string;
  readonly createdAt: number;
  readonly model: string;
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly messageId: string;
  readonly inputTokens: number;
  readonly generation: Generation;
  readonly metadata: Record<string, unknown>;
}

export function outputTextPart(text: string): Record<string, unknown> {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

/** The assistant message item; OpenAI marks it incomplete when the token cap cut it. */
export function messageItem(shape: ResponseShape, content: readonly unknown[], done: boolean): Record<string, unknown> {
  const status = !done ? 'in_progress' : shape.generation.truncated ? 'incomplete' : 'completed';
  return { id: shape.messageId, type: 'message', status, role: 'assistant', content };
}

/** The final response status: incomplete when max_output_tokens cut the generation. */
export function finalStatus(shape: ResponseShape): 'completed' | 'incomplete' {
  return shape.generation.truncated ? 'incomplete' : 'completed';
}

/**
 * A `response` object. `text` null builds the in-progress snapshot that streams open with
 * (no output, no usage); a string builds the finished response.
 */
export function responseObject(shape: ResponseShape, text: string | null): Record<string, unknown> {
  const done = text !== null;
  const status = done ? finalStatus(shape) : 'in_progress';
  return {
    id: shape.id,
    object: 'response',
    created_at: shape.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: shape.instructions,
    max_output_tokens: shape.maxOutputTokens,
    model: shape.model,
    output: done ? [messageItem(shape, [outputTextPart(text)], true)] : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: done
      ? {
          input_tokens: shape.inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: shape.generation.count,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: shape.inputTokens + shape.generation.count,
        }
      : null,
    user: null,
    metadata: shape.metadata,
  };
}
