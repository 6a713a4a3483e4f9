import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CountBudget } from '../../src/accounting/count.js';
import { SseUsageTap } from '../../src/accounting/sse-usage-tap.js';
import { usageObjectOf } from '../../src/accounting/usage.js';
import type { Operation, OperationSpec } from '../../src/operations/operation.js';
import { buildRoutes, findOperationSpec, OPERATIONS, operationSpec } from '../../src/operations/registry.js';

const DIR = fileURLToPath(new URL('../fixtures/provider-recordings/', import.meta.url));

interface Recording {
  id: string;
  endpoint: Operation;
  stream: boolean;
  status: number;
  file: string;
  expect: { prompt: number; completion: number; total: number; raw?: Record<string, unknown> } | null;
}

const catalog = JSON.parse(readFileSync(`${DIR}catalog.json`, 'utf8')) as Recording[];
/** Recordings whose completion is all reasoning: no text to see. */
const REASONING_ONLY = new Set(['oai-chat-detailed-usage', 'oai-chat-stream-reasoning']);
const counting = () => ({ encoding: 'o200k_base' as const, budget: new CountBudget() });

/** A recorded stream fed to its operation's tap in awkward pieces, as a real upstream sends it. */
function tapOf(recording: Recording): SseUsageTap {
  const bytes = readFileSync(DIR + recording.file);
  const tap = new SseUsageTap(recording.endpoint, false);
  const sizes = [1, 7, 64, 3, 200, 13, 2, 500, 31];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const next = Math.min(bytes.length, at + sizes[i % sizes.length]!);
    tap.push(bytes.subarray(at, next));
    at = next;
  }
  tap.flush();
  return tap;
}

describe('the operation registry', () => {
  it('holds every recorded endpoint, each spec once by name', () => {
    expect(new Set(OPERATIONS.map((s) => s.name)).size).toBe(OPERATIONS.length);
    for (const r of catalog) expect(findOperationSpec(r.endpoint)?.name).toBe(r.endpoint);
    expect(findOperationSpec('images.generate')).toBeUndefined();
    expect(() => operationSpec('nope' as Operation)).toThrow(/unknown operation/);
  });

  it('routes every dialect from the specs', () => {
    const routes = buildRoutes();
    const at = (path: string) => routes.exact.get(path)?.name;
    expect(at('/openai/v1/chat/completions')).toBe('chat.completions');
    expect(at('/openai/v1/responses')).toBe('responses');
    expect(at('/openai/chat/completions')).toBe('chat.completions');
    expect(at('/openai/responses')).toBe('responses');
    expect(at('/openai/embeddings')).toBe('embeddings');
    expect(at('/anthropic/v1/messages')).toBe('messages');
    expect(at('/anthropic/v1/messages/count_tokens')).toBe('messages.count_tokens');
    expect(at('/openai/v1/messages')).toBeUndefined();
    expect(routes.azureDeployment.get('/responses')?.name).toBe('responses');
    expect(routes.azureDeployment.get('/completions')?.name).toBe('completions');
    expect(routes.azureDeployment.get('/messages')).toBeUndefined();
  });

  it('routes a new operation from its spec alone', () => {
    const images: OperationSpec = { ...operationSpec('embeddings'), name: 'images' as Operation, routes: { openai: '/images/generations', azure: '/images/generations' } };
    const routes = buildRoutes([...OPERATIONS, images]);
    expect(routes.exact.get('/openai/v1/images/generations')).toBe(images);
    expect(routes.exact.get('/openai/images/generations')).toBe(images);
    expect(routes.azureDeployment.get('/images/generations')).toBe(images);
  });

  it('refuses two specs claiming one path', () => {
    const chat = operationSpec('chat.completions');
    const twin: OperationSpec = { ...chat, name: 'completions' };
    expect(() => buildRoutes([chat, twin])).toThrow(/two operations claim POST \/openai\/v1\/chat\/completions/);
  });

  it('says per spec: dialect, metering, completion reservation, stream usage option, Azure surface', () => {
    const facts = Object.fromEntries(
      OPERATIONS.map((s) => [s.name, [s.dialect, s.metered, s.reservesCompletion, s.streamUsageOption, s.azureUpstream]]),
    );
    expect(facts).toEqual({
      'chat.completions': ['openai', true, true, true, 'deployment'],
      completions: ['openai', true, true, true, 'deployment'],
      embeddings: ['openai', true, false, false, 'deployment'],
      responses: ['openai', true, true, false, 'v1'],
      messages: ['anthropic', true, true, false, null],
      'messages.count_tokens': ['anthropic', false, false, false, null],
    });
  });
});

describe('request facts: the required field and its check', () => {
  const cases: [Operation, unknown, unknown][] = [
    ['chat.completions', [{ role: 'user', content: 'hi' }], 'hi'],
    ['completions', 'Once upon', { text: 'x' }],
    ['embeddings', ['a', 'b'], 42],
    ['responses', 'hello', { role: 'user' }],
    ['messages', [{ role: 'user', content: 'hi' }], 'hi'],
    ['messages.count_tokens', [{ role: 'user', content: 'hi' }], undefined],
  ];
  it.each(cases)('%s accepts its field and refuses a wrong type', (name, good, bad) => {
    const { required } = operationSpec(name);
    expect(required.accepts(good)).toBe(true);
    expect(required.accepts(bad)).toBe(false);
  });
  it('responses may leave input out (a stored prompt, a previous response)', () => {
    expect(operationSpec('responses').required.accepts(undefined)).toBe(true);
  });
});

describe('prompt estimates per spec', () => {
  const bodies: Record<Operation, Record<string, unknown>> = {
    'chat.completions': { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
    completions: { prompt: 'What is the capital of France?' },
    embeddings: { input: 'What is the capital of France?' },
    responses: { input: 'What is the capital of France?' },
    messages: { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
    'messages.count_tokens': { messages: [{ role: 'user', content: 'What is the capital of France?' }] },
  };
  it('counts the text every operation carries in its own field', () => {
    const text = operationSpec('completions').estimatePrompt(bodies.completions, counting());
    expect(text).toBe(7);
    expect(operationSpec('embeddings').estimatePrompt(bodies.embeddings, counting())).toBe(text);
    // Framing: a chat message costs 3 tokens and its role; a Responses string input none.
    expect(operationSpec('chat.completions').estimatePrompt(bodies['chat.completions'], counting())).toBeGreaterThan(text);
    expect(operationSpec('responses').estimatePrompt(bodies.responses, counting())).toBe(text);
    expect(operationSpec('messages').estimatePrompt(bodies.messages, counting())).toBe(text + 3);
    expect(operationSpec('messages.count_tokens').estimatePrompt(bodies['messages.count_tokens'], counting())).toBe(text + 3);
  });
  it('reads nothing from the other operations’ fields', () => {
    for (const spec of OPERATIONS) expect(spec.estimatePrompt({ unrelated: 'x'.repeat(100) }, counting())).toBe(spec.estimatePrompt({}, counting()));
  });
});

describe('usage and text per spec, on the provider recordings', () => {
  const answered = catalog.filter((r) => r.status === 200);
  const withUsage = answered.filter((r) => r.expect !== null);
  const withoutUsage = answered.filter((r) => r.expect === null);
  expect(withUsage.length).toBeGreaterThan(30);
  // The recorded total is the truth: xAI reports reasoning tokens only in it (see validUsage).
  // Its parts as each provider names them (docs/limits.md): cache reads, cache writes, reasoning.
  const expected = (r: Recording) => {
    const raw = (r.expect!.raw ?? {}) as Record<string, Record<string, number> | number | undefined>;
    const detail = (field: string, key: string) => (raw[field] as Record<string, number> | undefined)?.[key];
    const parts = {
      cachedInput: detail('prompt_tokens_details', 'cached_tokens') ?? detail('input_tokens_details', 'cached_tokens') ?? (raw.cache_read_input_tokens as number | undefined),
      cacheWrite: raw.cache_creation_input_tokens as number | undefined,
      reasoning: detail('completion_tokens_details', 'reasoning_tokens') ?? detail('output_tokens_details', 'reasoning_tokens') ?? detail('output_tokens_details', 'thinking_tokens'),
    };
    return {
      prompt: r.expect!.prompt,
      completion: r.expect!.total - r.expect!.prompt,
      total: r.expect!.total,
      ...Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined && v > 0)),
    };
  };

  it.each(withUsage.filter((r) => !r.stream).map((r) => [r.id, r] as const))('%s: the answer’s usage', (_id, r) => {
    const spec = operationSpec(r.endpoint);
    const raw = readFileSync(DIR + r.file);
    // Both ways the proxy reads it: the usage object from the answer's tail, and the whole answer.
    expect(spec.usage(usageObjectOf(raw))).toEqual(expected(r));
    expect(spec.usage(JSON.parse(raw.toString('utf8')))).toEqual(expected(r));
    // Reasoning-only answers (finish_reason length) have no visible text; every other one has.
    if (spec.reservesCompletion && !REASONING_ONLY.has(r.id)) expect(spec.completionText(JSON.parse(raw.toString('utf8'))).length).toBeGreaterThan(0);
  });

  it.each(withUsage.filter((r) => r.stream).map((r) => [r.id, r] as const))('%s: the stream observer’s usage and text', (_id, r) => {
    const tap = tapOf(r);
    expect(tap.usage).toEqual(expected(r));
    if (!REASONING_ONLY.has(r.id)) expect(tap.generatedText().length).toBeGreaterThan(0);
  });

  it.each(withoutUsage.map((r) => [r.id, r] as const))('%s: no usage, the text to count', (_id, r) => {
    expect(r.stream).toBe(true);
    const tap = tapOf(r);
    expect(tap.usage).toBeNull();
    expect(tap.generatedText().length).toBeGreaterThan(20);
  });

  it('an Anthropic stream reports its prompt at message_start, before its final usage', () => {
    for (const r of withUsage.filter((x) => x.stream && x.endpoint === 'messages')) {
      const prompt = tapOf(r).promptTokens;
      expect(prompt, r.id).toBeGreaterThan(0);
      expect(prompt, r.id).toBeLessThanOrEqual(r.expect!.prompt);
    }
  });

  it('the refusal recording (400) carries no usage', () => {
    const r = catalog.find((x) => x.status === 400)!;
    expect(operationSpec(r.endpoint).usage(JSON.parse(readFileSync(DIR + r.file, 'utf8')))).toBeNull();
  });
});

describe('the fixtures are the shared recordings', () => {
  it('holds every file the catalog names', () => {
    const files = new Set(readdirSync(DIR));
    for (const r of catalog) expect(files.has(r.file), r.file).toBe(true);
  });
});
