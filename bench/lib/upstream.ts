/** The fixed OpenAI-style answers the fake upstream (nginx) returns, JSON and SSE. */

const CREATED = 1_700_000_000;
const USAGE = { prompt_tokens: 14, completion_tokens: 9, total_tokens: 23 };

export const CHAT_COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: CREATED,
  model: 'bench-upstream',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! This is a fixed benchmark answer.' }, finish_reason: 'stop' }],
  usage: USAGE,
});

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: CREATED, model: 'bench-upstream', choices, ...extra })}\n\n`;

const delta = (d: Record<string, unknown>, finish: string | null = null) => [{ index: 0, delta: d, finish_reason: finish }];

/** A few content chunks, a finish chunk, the usage chunk (`choices: []`) and `[DONE]`. */
export const CHAT_COMPLETION_SSE = [
  chunk(delta({ role: 'assistant', content: '' })),
  chunk(delta({ content: 'Hello!' })),
  chunk(delta({ content: ' This is a fixed' })),
  chunk(delta({ content: ' benchmark answer.' })),
  chunk(delta({}, 'stop')),
  chunk([], { usage: USAGE }),
  'data: [DONE]\n\n',
].join('');

/** Paths on the fake upstream; deployments use `/v1` and `/sse/v1` as their base URLs. */
export const UPSTREAM_JSON_PATH = '/v1/chat/completions';
export const UPSTREAM_SSE_PATH = '/sse/v1/chat/completions';

/** Where a request's own number goes in the user message: wrk's script replaces it (bench/lua/post.lua). */
export const REQUEST_NUMBER = '#N#';

/**
 * A chat request as applications send them: a system prompt every request repeats, and a user
 * message of its own (`n` in it, or the REQUEST_NUMBER marker for wrk to fill in), so a gateway
 * cannot answer the prompt estimate from a cache of whole prompts.
 */
export function requestBody(model: string, stream: boolean, n: number | string = REQUEST_NUMBER): string {
  return JSON.stringify({
    model,
    ...(stream ? { stream: true } : {}),
    max_tokens: 16,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: `Say hello for benchmark request ${n}.` },
    ],
  });
}
