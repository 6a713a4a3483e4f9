import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_ANSWER_TOKENS } from '../../src/accounting/usage.js';
import { completionTextOf, usageOf } from '../../src/operations/registry.js';
import type { Operation } from '../../src/providers/provider.js';

describe('usageOf', () => {
  it.each<Operation>(['chat.completions', 'completions'])('reads prompt/completion/total tokens (%s)', (operation) => {
    const payload = {
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' } }],
      usage: { prompt_tokens: 17, completion_tokens: 5, total_tokens: 22, prompt_tokens_details: { cached_tokens: 10 } },
    };
    expect(usageOf(operation, payload)).toEqual({ prompt: 17, completion: 5, total: 22, cachedInput: 10 });
  });

  it('counts tokens reported only in the total as completion, so prompt + completion = total', () => {
    // e.g. reasoning or audio tokens reported only in the total.
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 40 } })).toEqual({ prompt: 10, completion: 30, total: 40 });
  });

  it('reads embeddings usage without completion_tokens as completion 0', () => {
    const payload = { object: 'list', data: [], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } };
    expect(usageOf('embeddings', payload)).toEqual({ prompt: 8, completion: 0, total: 8 });
  });

  it('reads responses usage from input_tokens/output_tokens', () => {
    const payload = {
      object: 'response',
      usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 123 },
    };
    expect(usageOf('responses', payload)).toEqual({ prompt: 36, completion: 87, total: 123 });
  });

  it('does not mix the two vocabularies', () => {
    expect(usageOf('responses', { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })).toBeNull();
    expect(usageOf('chat.completions', { usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } })).toBeNull();
  });

  it('computes the total when absent', () => {
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 12, completion_tokens: 30 } })).toEqual({ prompt: 12, completion: 30, total: 42 });
    expect(usageOf('responses', { usage: { input_tokens: 12, output_tokens: 30 } })).toEqual({ prompt: 12, completion: 30, total: 42 });
    expect(usageOf('embeddings', { usage: { prompt_tokens: 9 } })).toEqual({ prompt: 9, completion: 0, total: 9 });
  });

  it('computes the total when the reported one is garbage', () => {
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 'lots' } })).toEqual({ prompt: 1, completion: 2, total: 3 });
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: -5 } })).toEqual({ prompt: 1, completion: 2, total: 3 });
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: null } })).toEqual({ prompt: 1, completion: 2, total: 3 });
  });

  it('treats a missing prompt count as 0 when completion is present', () => {
    expect(usageOf('chat.completions', { usage: { completion_tokens: 4 } })).toEqual({ prompt: 0, completion: 4, total: 4 });
  });

  it('counts zero-token usage as usage', () => {
    expect(usageOf('chat.completions', { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } })).toEqual({ prompt: 0, completion: 0, total: 0 });
  });

  it.each<[string, unknown]>([
    ['null payload', null],
    ['undefined payload', undefined],
    ['a string payload', 'usage'],
    ['a number payload', 42],
    ['no usage', { id: 'x', choices: [] }],
    ['usage: null', { usage: null }],
    ['usage: a string', { usage: '17 tokens' }],
    ['usage: a number', { usage: 17 }],
    ['usage: {}', { usage: {} }],
    ['string counts', { usage: { prompt_tokens: '17', completion_tokens: '5' } }],
    ['negative counts', { usage: { prompt_tokens: -1, completion_tokens: -2 } }],
    ['non-finite counts', { usage: { prompt_tokens: Number.NaN, completion_tokens: Number.POSITIVE_INFINITY } }],
    ['only a total', { usage: { total_tokens: 22 } }],
  ])('returns null for %s', (_name, payload) => {
    expect(usageOf('chat.completions', payload)).toBeNull();
    expect(usageOf('responses', payload)).toBeNull();
  });
});

describe('usageOf validates what the upstream reports', () => {
  const chat = (usage: Record<string, unknown>) => usageOf('chat.completions', { usage });

  it('rounds fractions up: a token partly used is used', () => {
    expect(chat({ prompt_tokens: 10.5, completion_tokens: 2.1, total_tokens: 12.6 })).toEqual({ prompt: 11, completion: 3, total: 14 });
    expect(usageOf('responses', { usage: { input_tokens: 0.2, output_tokens: 7 } })).toEqual({ prompt: 1, completion: 7, total: 8 });
    expect(usageOf('messages', { usage: { input_tokens: 4.5, cache_read_input_tokens: 0.5, output_tokens: 1.5 } })).toEqual({ prompt: 6, completion: 2, total: 8, cachedInput: 1 });
  });

  it(`cuts counts beyond ${MAX_ANSWER_TOKENS} tokens to the bound, and says so`, () => {
    const MAX = MAX_ANSWER_TOKENS;
    expect(chat({ prompt_tokens: 1e20, completion_tokens: 5, total_tokens: 1e20 + 5 })).toEqual({ prompt: MAX, completion: 0, total: MAX, capped: true });
    expect(chat({ prompt_tokens: 10, completion_tokens: 1e20 })).toEqual({ prompt: 10, completion: MAX - 10, total: MAX, capped: true });
    expect(chat({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 1e20 })).toEqual({ prompt: 10, completion: MAX - 10, total: MAX, capped: true });
    // JSON's 1e400 parses as Infinity: a number beyond the bound like any other.
    expect(usageOf('chat.completions', JSON.parse('{"usage":{"prompt_tokens":1e400,"completion_tokens":1}}'))).toEqual({ prompt: MAX, completion: 0, total: MAX, capped: true });
    expect(usageOf('messages', { usage: { input_tokens: 3, cache_creation_input_tokens: 1e20, output_tokens: 2 } })).toEqual({ prompt: MAX, completion: 0, total: MAX, capped: true, cacheWrite: MAX });
    // At the bound exactly: believed.
    expect(chat({ prompt_tokens: MAX - 1, completion_tokens: 1 })).toEqual({ prompt: MAX - 1, completion: 1, total: MAX });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a negative prompt', { prompt_tokens: -1, completion_tokens: 5, total_tokens: 4 }],
    ['a negative completion', { prompt_tokens: 5, completion_tokens: -3 }],
    ['a string prompt', { prompt_tokens: '17', completion_tokens: 5 }],
    ['a boolean completion', { prompt_tokens: 17, completion_tokens: true }],
    ['an object prompt', { prompt_tokens: { text: 3 }, completion_tokens: 5 }],
    ['a NaN completion', { prompt_tokens: 17, completion_tokens: Number.NaN }],
  ])('counts the text instead of usage with %s (returns null)', (_name, usage) => {
    expect(chat(usage)).toBeNull();
  });

  it('refuses Anthropic usage with a cache count that is not a count', () => {
    expect(usageOf('messages', { usage: { input_tokens: 5, cache_read_input_tokens: -100, output_tokens: 2 } })).toBeNull();
    expect(usageOf('messages', { usage: { input_tokens: 5, cache_creation_input_tokens: 'many', output_tokens: 2 } })).toBeNull();
  });

  it('takes prompt + completion when only the total is wrong', () => {
    expect(chat({ prompt_tokens: 500, completion_tokens: 500, total_tokens: 0 })).toEqual({ prompt: 500, completion: 500, total: 1000 });
    expect(chat({ prompt_tokens: 500, completion_tokens: 500, total_tokens: 999 })).toEqual({ prompt: 500, completion: 500, total: 1000 });
    expect(chat({ prompt_tokens: 500, completion_tokens: 500, total_tokens: -1 })).toEqual({ prompt: 500, completion: 500, total: 1000 });
    expect(chat({ prompt_tokens: 500, completion_tokens: 500, total_tokens: '1000' })).toEqual({ prompt: 500, completion: 500, total: 1000 });
  });

  it("counts xAI's reasoning tokens, reported only in its total, as completion (recorded stream)", () => {
    const sse = readFileSync(new URL('../fixtures/provider-recordings/xai-chat-stream-tools.sse', import.meta.url), 'utf8');
    const last = sse
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.includes('"usage"'))
      .at(-1)!;
    // 307 + 26 = 560 as reported: 227 reasoning tokens are in the total only.
    expect(usageOf('chat.completions', JSON.parse(last))).toEqual({ prompt: 307, completion: 253, total: 560, cachedInput: 306, reasoning: 227 });
  });
});

describe('completionTextOf', () => {
  it('reads a chat message content', () => {
    const payload = { choices: [{ index: 0, message: { role: 'assistant', content: 'The capital of France is Paris.' }, finish_reason: 'stop' }] };
    expect(completionTextOf('chat.completions', payload)).toBe('The capital of France is Paris.');
  });

  it('reads chat tool_calls as their JSON', () => {
    const toolCalls = [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }];
    const payload = { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }] };
    expect(completionTextOf('chat.completions', payload)).toBe(JSON.stringify(toolCalls));
  });

  it('reads content and tool_calls together, across choices (n > 1)', () => {
    const toolCalls = [{ id: 'call_2', type: 'function', function: { name: 'f', arguments: '{}' } }];
    const payload = {
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Let me check. ', tool_calls: toolCalls } },
        { index: 1, message: { role: 'assistant', content: 'Second answer.' } },
      ],
    };
    expect(completionTextOf('chat.completions', payload)).toBe(`Let me check. ${JSON.stringify(toolCalls)}Second answer.`);
  });

  it('reads legacy completions text', () => {
    const payload = {
      object: 'text_completion',
      choices: [
        { index: 0, text: ' there was a princess.', finish_reason: 'stop' },
        { index: 1, text: ' there was a dragon.', finish_reason: 'stop' },
      ],
    };
    expect(completionTextOf('completions', payload)).toBe(' there was a princess. there was a dragon.');
  });

  it('reads responses output message content', () => {
    const payload = {
      object: 'response',
      output: [
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          id: 'msg_1',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'Hello, ', annotations: [] },
            { type: 'output_text', text: 'world.', annotations: [] },
          ],
        },
      ],
    };
    expect(completionTextOf('responses', payload)).toBe('Hello, world.');
  });

  it('reads nothing from a Responses-shaped output for chat', () => {
    expect(completionTextOf('chat.completions', { output: [{ content: [{ type: 'output_text', text: 'x' }] }] })).toBe('');
  });

  // The stream tap counts response.function_call_arguments.delta; the non-streamed answer should count the same text,
  // as it does for chat tool_calls.
  it('reads responses function_call arguments', () => {
    const payload = {
      object: 'response',
      output: [{ type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}', status: 'completed' }],
    };
    expect(completionTextOf('responses', payload)).toContain('{"city":"Paris","unit":"c"}');
  });

  // The stream tap counts delta.refusal and response.refusal.delta; the non-streamed answer should count them too.
  const refusal = "I'm sorry, I can't help with that request.";
  it.each<[Operation, unknown]>([
    ['chat.completions', { choices: [{ message: { role: 'assistant', content: null, refusal } }] }],
    ['responses', { output: [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal }] }] }],
  ])('reads refusals (%s)', (operation, payload) => {
    expect(completionTextOf(operation, payload)).toBe(refusal);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'text'],
    ['no choices', { id: 'x' }],
    ['choices: a string', { choices: 'abc' }],
    ['an empty message', { choices: [{ message: {} }] }],
    ['non-string content', { choices: [{ message: { content: 42 }, text: 7 }] }],
  ])('returns "" for %s', (_name, payload) => {
    expect(completionTextOf('chat.completions', payload)).toBe('');
  });

  // BUG: array entries are cast without a null check, so a null choice/output item/part throws a TypeError.
  it.each<[Operation, unknown, string]>([
    ['chat.completions', { choices: [null, { message: { content: 'ok' } }] }, 'ok'],
    ['completions', { choices: [{ text: 'ok' }, null] }, 'ok'],
    ['responses', { output: [null, { type: 'message', content: [null, { type: 'output_text', text: 'ok' }] }] }, 'ok'],
  ])('skips null entries without throwing (%s)', (operation, payload, text) => {
    expect(() => completionTextOf(operation, payload)).not.toThrow();
    expect(completionTextOf(operation, payload)).toBe(text);
  });

  it('returns "" for responses payloads without usable output', () => {
    expect(completionTextOf('responses', { output: 'nope' })).toBe('');
    expect(completionTextOf('responses', { output: [{ type: 'message', content: 'plain' }] })).toBe('');
  });
});

describe('Anthropic Messages usage and text', () => {
  it('counts the prompt as input plus cache writes and reads', () => {
    const usage = { input_tokens: 12, cache_creation_input_tokens: 200, cache_read_input_tokens: 3000, output_tokens: 40, server_tool_use: { web_search_requests: 0 } };
    expect(usageOf('messages', { usage })).toEqual({ prompt: 3212, completion: 40, total: 3252, cachedInput: 3000, cacheWrite: 200 });
    expect(usageOf('messages', { usage: { input_tokens: 5, output_tokens: 1 } })).toEqual({ prompt: 5, completion: 1, total: 6 });
    expect(usageOf('messages', { usage: { service_tier: 'standard' } })).toBeNull();
    // OpenAI's field names mean nothing in this dialect.
    expect(usageOf('messages', { usage: { prompt_tokens: 5, completion_tokens: 1 } })).toBeNull();
  });

  it('reads the generated text of text, thinking and tool_use blocks', () => {
    const message = {
      type: 'message',
      content: [
        { type: 'thinking', thinking: 'Think. ', signature: 'sig' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    };
    expect(completionTextOf('messages', message)).toBe('Think. Checking.get_weather{"city":"Paris"}');
  });
});
