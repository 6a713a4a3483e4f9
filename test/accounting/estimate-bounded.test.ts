import { describe, expect, it } from 'vitest';
import { CountBudget, countTextTokens, encodingFor, type Encoding } from '../../src/accounting/count.js';
import { REQUEST_COUNT_BUDGET } from '../../src/accounting/count-budget.js';
import { estimatePromptTokens } from '../../src/operations/registry.js';
import { SseUsageTap } from '../../src/accounting/sse-usage-tap.js';
import type { Operation } from '../../src/providers/provider.js';
import { PATHOLOGICAL } from './text-shapes.js';

// Issue 15, point 1: one request must not freeze every other. A prompt that is one long run
// (one character repeated, digits, base64, a non-Latin script without spaces) used to be one
// BPE piece, quadratic: 1 MB held the event loop for minutes. No timing thresholds here: the
// work is counted (deterministic), and time is only compared between sizes of one shape.

const MB = 1 << 20;
const KB = 1 << 10;
const O200K: Encoding = 'o200k_base';
const SHAPES = ['one character', 'a two-character pattern', 'a run of digits', 'base64-like', 'a non-Latin run'] as const;

/**
 * The most one step of counting can spend past the budget: the budget is checked between pieces,
 * and the dearest piece is a full merge of ~270 bytes (a bounded piece of 4-byte characters) plus
 * a look ahead for the next stretch.
 */
const ONE_STEP = 500_000;

/** Every place the estimate reads prompt text, each holding `text`. */
const PATHS: [string, Operation, (text: string) => Record<string, unknown>][] = [
  ['chat: message content', 'chat.completions', (t) => ({ messages: [{ role: 'user', content: t }] })],
  ['chat: content parts', 'chat.completions', (t) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: t.slice(0, t.length / 2) }, { type: 'text', text: t.slice(t.length / 2) }] }] })],
  ['chat: tools', 'chat.completions', (t) => ({ messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', description: t, parameters: { type: 'object' } } }] })],
  ['chat: assistant tool calls', 'chat.completions', (t) => ({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: t } }] }] })],
  ['responses: instructions', 'responses', (t) => ({ instructions: t, input: 'hi' })],
  ['responses: input items', 'responses', (t) => ({ input: [{ role: 'user', content: [{ type: 'input_text', text: t }] }, { type: 'function_call_output', call_id: 'c', output: t }] })],
  ['Anthropic: system', 'messages', (t) => ({ system: t, messages: [{ role: 'user', content: 'hi' }] })],
  ['Anthropic: system blocks', 'messages', (t) => ({ system: [{ type: 'text', text: t }], messages: [] })],
  ['Anthropic: messages', 'messages', (t) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: t }, { type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: t }] }] }] })],
  ['Anthropic: tools', 'messages', (t) => ({ messages: [], tools: [{ name: 'f', description: t, input_schema: { type: 'object' } }] })],
  ['embeddings: input array', 'embeddings', (t) => ({ input: [t, t.slice(1), t.slice(2)] })],
  ['completions: prompt', 'completions', (t) => ({ prompt: t })],
];

function estimate(operation: Operation, body: Record<string, unknown>): { tokens: number; budget: CountBudget } {
  const budget = new CountBudget();
  return { tokens: estimatePromptTokens(operation, body, O200K, budget), budget };
}

/** Best of three: the least disturbed by whatever else the machine runs. */
function time(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

describe('a 1 MB pathological prompt, through every field the estimate reads', () => {
  for (const shape of SHAPES) {
    const text = PATHOLOGICAL[shape]!(MB);
    const bytes = Buffer.byteLength(text);
    it.each(PATHS)(`${shape}: %s — bounded work`, (_, operation, body) => {
      const request = body(text);
      const { tokens, budget } = estimate(operation, request);
      expect(budget.used).toBeLessThanOrEqual(REQUEST_COUNT_BUDGET + ONE_STEP);
      // Past the budget the rest is bounded by its UTF-8 length (bpe.test.ts: never below the
      // real count): the estimate lies between a share of the text and all of its bytes.
      expect(budget.bounded).toBe(true);
      expect(tokens).toBeGreaterThan(bytes / 16);
      expect(tokens).toBeLessThanOrEqual(Buffer.byteLength(JSON.stringify(request)));
    });
  }

  it.each(SHAPES)('%s: 1 MB takes less than 50× the time of 64 KB counted in full', (shape) => {
    const small = PATHOLOGICAL[shape]!(64 * KB);
    const large = PATHOLOGICAL[shape]!(MB);
    // A new text each time (another first character): a repeated one would be a cache hit.
    let run = 0;
    const body = (t: string) => ({ messages: [{ role: 'user', content: `${run++}${t}` }] });
    estimate('chat.completions', body(large)); // warm up
    const full = time(() => estimatePromptTokens('chat.completions', body(small), O200K, new CountBudget(Infinity)));
    const bounded = time(() => estimate('chat.completions', body(large)));
    expect(bounded).toBeLessThan(50 * full);
  });

  it('leaves no budget for the next texts of the same request, which are bounded at once', () => {
    const text = PATHOLOGICAL['random letters']!(MB);
    const { budget } = estimate('embeddings', { input: [text, ...Array.from({ length: 10_000 }, (_, i) => `document ${i}`)] });
    expect(budget.used).toBeLessThanOrEqual(REQUEST_COUNT_BUDGET + ONE_STEP);
  });

  it('many small texts share one budget too', () => {
    const { tokens, budget } = estimate('embeddings', { input: Array.from({ length: 200_000 }, (_, i) => `document number ${i}`) });
    expect(budget.used).toBeLessThanOrEqual(REQUEST_COUNT_BUDGET + ONE_STEP);
    expect(tokens).toBeGreaterThan(200_000 * 3);
  });
});

describe('the tokenizer alone (no budget) is linear in the text', () => {
  // 16× the text: linear is 16× the work, quadratic 256×. Each count gets a text of its own
  // (another seed), so no cache makes one size cheaper than the other.
  it.each([...SHAPES, 'random letters', 'spaces'] as const)('%s: 16× the text, at most 20× the work and 100× the time', (shape) => {
    let seed = 100;
    const work = (length: number) => {
      const budget = new CountBudget(Infinity);
      countTextTokens(`${seed}${PATHOLOGICAL[shape]!(length, seed++)}`, O200K, budget);
      return budget.used;
    };
    expect(work(128 * KB)).toBeLessThanOrEqual(20 * work(8 * KB));
    work(8 * KB); // warm up
    const texts = (length: number) => Array.from({ length: 3 }, () => `${seed}${PATHOLOGICAL[shape]!(length, seed++)}`);
    const small = texts(8 * KB);
    const large = texts(128 * KB);
    const count = (batch: string[]) => () => countTextTokens(batch.pop()!, O200K, new CountBudget(Infinity));
    expect(time(count(large))).toBeLessThan(100 * time(count(small)));
  });
});

describe('counting a stream’s text when the upstream reports no usage', () => {
  const frame = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;
  const streams: [string, Operation, (t: string) => string][] = [
    ['chat', 'chat.completions', (t) => frame({ choices: [{ index: 0, delta: { content: t } }] }) + frame({ choices: [{ index: 0, delta: { content: t } }] }) + 'data: [DONE]\n\n'],
    ['chat tool call', 'chat.completions', (t) => frame({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: t } }] } }] })],
    ['responses', 'responses', (t) => frame({ type: 'response.output_text.delta', delta: t })],
    ['Anthropic', 'messages', (t) => frame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })],
  ];

  for (const shape of SHAPES) {
    const text = PATHOLOGICAL[shape]!(MB);
    it.each(streams)(`${shape}: %s — bounded work`, (_, operation, stream) => {
      const tap = new SseUsageTap(operation, false);
      tap.push(Buffer.from(stream(text)));
      tap.flush();
      const generated = tap.generatedText();
      expect(generated.length).toBeGreaterThanOrEqual(MB);
      // What the proxy charges with (governance.countedCompletion), with a request's budget.
      const budget = new CountBudget();
      const tokens = countTextTokens(generated, encodingFor('gpt-4o'), budget);
      expect(budget.used).toBeLessThanOrEqual(REQUEST_COUNT_BUDGET + ONE_STEP);
      expect(tokens).toBeGreaterThan(0);
    });
  }
});
