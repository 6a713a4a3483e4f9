import { describe, expect, it } from 'vitest';
import { plainContentDelta, SseUsageTap } from '../../src/accounting/sse-usage-tap.js';
import type { Usage } from '../../src/accounting/usage.js';
import type { Operation } from '../../src/providers/provider.js';
import { prng } from '../support/prng.js';

// ---------------------------------------------------------------------------------------------
// Stream builders: realistic OpenAI SSE streams, as lists of events (each with its terminator).
// ---------------------------------------------------------------------------------------------

type Sep = '\n\n' | '\r\n\r\n';

const CREATED = 1_767_225_600;

function chatChunk(choices: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'chatcmpl-Bx9kQ2',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: 'gpt-4o-mini-2024-07-18',
    service_tier: 'default',
    system_fingerprint: 'fp_560af6e559',
    choices,
    // With stream_options.include_usage, every chunk but the last carries usage: null.
    usage: null,
    ...extra,
  };
}

const dataEvent = (payload: unknown, sep: Sep = '\n\n'): string => `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}${sep}`;
const namedEvent = (payload: { type: string } & Record<string, unknown>, sep: Sep = '\n\n'): string => {
  const nl = sep === '\n\n' ? '\n' : '\r\n';
  return `event: ${payload.type}${nl}data: ${JSON.stringify(payload)}${sep}`;
};

interface StreamCase {
  operation: Operation;
  events: string[];
  /** Index of the usage-only chunk the tap drops when stripping (null: nothing to strip). */
  usageIndex: number | null;
  usage: Usage | null;
  text: string;
  /** False when the last event has no terminating blank line. */
  terminated: boolean;
}

const CHAT_USAGE = { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };

function chatStream(sep: Sep = '\n\n', contents = ['Hello', '! How', ' can I', ' help', ' you today?']): StreamCase {
  const events = [
    dataEvent(chatChunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]), sep),
    ...contents.map((content) => dataEvent(chatChunk([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }]), sep)),
    dataEvent(chatChunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]), sep),
    dataEvent(chatChunk([], { usage: CHAT_USAGE }), sep),
    `data: [DONE]${sep}`,
  ];
  return { operation: 'chat.completions', events, usageIndex: events.length - 2, usage: { prompt: 19, completion: 10, total: 29 }, text: contents.join(''), terminated: true };
}

function completionsStream(): StreamCase {
  const texts = [' there', ' was', ' a', ' lighthouse', ' keeper.'];
  const chunk = (choices: unknown[], usage: unknown = null) => ({ id: 'cmpl-7a1', object: 'text_completion', created: CREATED, model: 'gpt-3.5-turbo-instruct', choices, usage });
  const events = [
    ...texts.map((text) => dataEvent(chunk([{ text, index: 0, logprobs: null, finish_reason: null }]))),
    dataEvent(chunk([{ text: '', index: 0, logprobs: null, finish_reason: 'length' }])),
    dataEvent(chunk([], { prompt_tokens: 4, completion_tokens: 5, total_tokens: 9 })),
    'data: [DONE]\n\n',
  ];
  return { operation: 'completions', events, usageIndex: events.length - 2, usage: { prompt: 4, completion: 5, total: 9 }, text: texts.join(''), terminated: true };
}

function toolCallStream(): StreamCase {
  const args = ['{"', 'city', '":"', 'Paris', '","', 'unit', '":"', 'c', '"}'];
  const events = [
    dataEvent(
      chatChunk([
        {
          index: 0,
          delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_Qm3', type: 'function', function: { name: 'get_weather', arguments: '' } }], refusal: null },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    ),
    ...args.map((a) => dataEvent(chatChunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] }, logprobs: null, finish_reason: null }]))),
    dataEvent(chatChunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }])),
    dataEvent(chatChunk([], { usage: { prompt_tokens: 81, completion_tokens: 17, total_tokens: 98 } })),
    'data: [DONE]\n\n',
  ];
  return { operation: 'chat.completions', events, usageIndex: events.length - 2, usage: { prompt: 81, completion: 17, total: 98 }, text: `get_weather${args.join('')}`, terminated: true };
}

function responsesStream(final: 'response.completed' | 'response.incomplete' = 'response.completed', sep: Sep = '\n\n'): StreamCase {
  const deltas = ['Tokens', ' are', ' pieces', ' of', ' text', ' — 日本語も', ' 🎉.'];
  const text = deltas.join('');
  const base = { id: 'resp_68af', object: 'response', created_at: CREATED, model: 'gpt-4.1-2025-04-14', output: [] as unknown[], usage: null as unknown };
  const msg = { id: 'msg_68af', type: 'message', role: 'assistant' };
  let seq = 0;
  const e = (payload: { type: string } & Record<string, unknown>) => namedEvent({ ...payload, sequence_number: seq++ }, sep);
  const usage = { input_tokens: 37, input_tokens_details: { cached_tokens: 0 }, output_tokens: 11, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 48 };
  const done = { ...base, status: final === 'response.completed' ? 'completed' : 'incomplete', output: [{ ...msg, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }], usage };
  if (final === 'response.incomplete') Object.assign(done, { incomplete_details: { reason: 'max_output_tokens' } });
  const events = [
    e({ type: 'response.created', response: { ...base, status: 'in_progress' } }),
    e({ type: 'response.in_progress', response: { ...base, status: 'in_progress' } }),
    e({ type: 'response.output_item.added', output_index: 0, item: { ...msg, status: 'in_progress', content: [] } }),
    e({ type: 'response.content_part.added', item_id: msg.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ...deltas.map((delta) => e({ type: 'response.output_text.delta', item_id: msg.id, output_index: 0, content_index: 0, delta, logprobs: [] })),
    // The *.done events repeat the full text: they must not be counted twice.
    e({ type: 'response.output_text.done', item_id: msg.id, output_index: 0, content_index: 0, text, logprobs: [] }),
    e({ type: 'response.content_part.done', item_id: msg.id, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } }),
    e({ type: 'response.output_item.done', output_index: 0, item: { ...msg, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] } }),
    e({ type: final, response: done }),
  ];
  return { operation: 'responses', events, usageIndex: null, usage: { prompt: 37, completion: 11, total: 48 }, text, terminated: true };
}

// ---------------------------------------------------------------------------------------------
// Harness: feed a stream split at given byte offsets and check every push against the events.
// ---------------------------------------------------------------------------------------------

const bin = (b: Buffer | null): string => (b ?? Buffer.alloc(0)).toString('latin1'); // byte-exact, readable

function inputOf(c: StreamCase): Buffer {
  return Buffer.from(c.events.join(''), 'utf8');
}

/** Splits `input` at the given (sorted, distinct, in 1..len-1) offsets. */
function piecesAt(input: Buffer, cuts: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, input.length]) {
    pieces.push(Buffer.from(input.subarray(start, cut))); // a copy, as a socket would hand over
    start = cut;
  }
  return pieces;
}

interface Fed {
  tap: SseUsageTap;
  outs: Array<Buffer | null>;
  flushed: Buffer | null;
  all: Buffer;
}

function feed(operation: Operation, strip: boolean, pieces: readonly Buffer[]): Fed {
  const tap = new SseUsageTap(operation, strip);
  const outs = pieces.map((p) => tap.push(p));
  const flushed = tap.flush();
  const all = Buffer.concat([...outs, flushed].filter((b): b is Buffer => b !== null));
  return { tap, outs, flushed, all };
}

/**
 * Feeds `c` split at `cuts` and checks, push by push, that exactly the events completed by that
 * push come out (minus the stripped usage chunk), that a push completing none returns null, and
 * that usage and generated text are right at the end.
 */
function verify(c: StreamCase, strip: boolean, cuts: readonly number[]): void {
  const input = inputOf(c);
  const where = `strip=${strip} cuts=[${cuts.join(',')}]`;
  const ends: number[] = [];
  let offset = 0;
  for (const event of c.events) ends.push((offset += Buffer.byteLength(event, 'utf8')));
  const completeCount = c.terminated ? c.events.length : c.events.length - 1;
  const dropped = (i: number) => strip && i === c.usageIndex;

  const tap = new SseUsageTap(c.operation, strip);
  let fed = 0;
  let completed = 0;
  for (const piece of piecesAt(input, cuts)) {
    const out = tap.push(piece);
    fed += piece.length;
    let now = completed;
    while (now < completeCount && ends[now]! <= fed) now++;
    if (now === completed) {
      expect(out, `${where}: push up to byte ${fed} completes no event`).toBeNull();
    } else {
      const expected = c.events.slice(completed, now).filter((_, j) => !dropped(completed + j));
      expect(bin(out), `${where}: push up to byte ${fed}`).toBe(bin(Buffer.from(expected.join(''), 'utf8')));
    }
    completed = now;
  }
  const flushed = tap.flush();
  if (c.terminated) expect(flushed, `${where}: flush`).toBeNull();
  else expect(bin(flushed), `${where}: flush`).toBe(bin(Buffer.from(c.events.at(-1)!, 'utf8')));
  expect(tap.usage, `${where}: usage`).toEqual(c.usage);
  expect(tap.generatedText(), `${where}: text`).toBe(c.text);
}

function expectedOutput(c: StreamCase, strip: boolean): Buffer {
  return Buffer.from(c.events.filter((_, i) => !(strip && i === c.usageIndex)).join(''), 'utf8');
}


function randomCuts(rand: () => number, length: number): number[] {
  const k = 1 + Math.floor(rand() * Math.min(24, length - 1)); // 2..25 pieces
  const cuts = new Set<number>();
  while (cuts.size < k) cuts.add(1 + Math.floor(rand() * (length - 1)));
  return [...cuts].sort((x, y) => x - y);
}

/** Every two-piece split, a few hundred seeded random multi-way splits, and byte-by-byte. */
function verifyAllSplits(c: StreamCase, strip: boolean, seed: number): void {
  const length = inputOf(c).length;
  verify(c, strip, []);
  for (let at = 1; at < length; at++) verify(c, strip, [at]);
  const rand = prng(seed);
  for (let n = 0; n < 300; n++) verify(c, strip, randomCuts(rand, length));
  verify(
    c,
    strip,
    Array.from({ length: length - 1 }, (_, i) => i + 1),
  );
}

// ---------------------------------------------------------------------------------------------

describe('SseUsageTap: chat completions stream', () => {
  const c = chatStream();

  it('the fixture is what it claims to be', () => {
    expect(c.events[c.usageIndex!]).toMatch(/^data: \{.*"choices":\[\],"usage":\{"prompt_tokens":19,/);
    expect(c.events.at(-1)).toBe('data: [DONE]\n\n');
    expect(c.events.every((e) => e.endsWith('\n\n') && !e.slice(0, -2).includes('\n'))).toBe(true);
  });

  it('forwards the stream byte for byte without stripping', () => {
    const { all, tap } = feed(c.operation, false, [inputOf(c)]);
    expect(bin(all)).toBe(bin(inputOf(c)));
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
    expect(tap.generatedText()).toBe('Hello! How can I help you today?');
  });

  it('drops exactly the usage chunk (and its blank line) when stripping, and still records usage', () => {
    const input = inputOf(c);
    const { all, tap } = feed(c.operation, true, [input]);
    const usageEvent = Buffer.from(c.events[c.usageIndex!]!, 'utf8');
    expect(all.length).toBe(input.length - usageEvent.length);
    const at = input.indexOf(usageEvent);
    expect(bin(all)).toBe(bin(Buffer.concat([input.subarray(0, at), input.subarray(at + usageEvent.length)])));
    expect(all.includes('"usage":{')).toBe(false);
    expect(bin(all).endsWith('"finish_reason":"stop"}],"usage":null}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
  });

  it.each([false, true])('survives every two-piece split, random multi-way splits and byte-by-byte feeding (strip=%s)', (strip) => {
    verifyAllSplits(c, strip, strip ? 0xc0ffee : 0xbeef);
  });

  it.each([false, true])('concatenated output equals the expected bytes for random splits (strip=%s)', (strip) => {
    const input = inputOf(c);
    const rand = prng(strip ? 7 : 11);
    for (let n = 0; n < 200; n++) {
      const cuts = randomCuts(rand, input.length);
      const { all, outs } = feed(c.operation, strip, piecesAt(input, cuts));
      expect(bin(all), `cuts=[${cuts.join(',')}]`).toBe(bin(expectedOutput(c, strip)));
      // Nothing returned ends mid-event.
      for (const out of outs) if (out && out.length > 0) expect(bin(out).endsWith('\n\n')).toBe(true);
    }
  });

  it('returns null while no event is complete, then the completed events', () => {
    const input = inputOf(c);
    const first = Buffer.byteLength(c.events[0]!, 'utf8');
    const tap = new SseUsageTap('chat.completions', false);
    expect(tap.push(input.subarray(0, 10))).toBeNull();
    expect(tap.push(input.subarray(10, first - 1))).toBeNull(); // up to the first "\n" of the blank line
    expect(bin(tap.push(input.subarray(first - 1, first + 5)))).toBe(bin(Buffer.from(c.events[0]!, 'utf8')));
    expect(tap.generatedText()).toBe('');
    expect(bin(tap.push(input.subarray(first + 5)))).toBe(bin(input.subarray(first)));
    expect(tap.flush()).toBeNull();
    expect(tap.generatedText()).toBe('Hello! How can I help you today?');
  });

  it('sends nothing for a push that completes only the stripped usage chunk', () => {
    const input = inputOf(c);
    const usageStart = Buffer.byteLength(c.events.slice(0, c.usageIndex!).join(''), 'utf8');
    const usageEnd = usageStart + Buffer.byteLength(c.events[c.usageIndex!]!, 'utf8');
    const tap = new SseUsageTap('chat.completions', true);
    expect(bin(tap.push(input.subarray(0, usageStart)))).toBe(bin(input.subarray(0, usageStart)));
    expect(tap.usage).toBeNull();
    const out = tap.push(input.subarray(usageStart, usageEnd));
    expect(out === null || out.length === 0).toBe(true);
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
    expect(bin(tap.push(input.subarray(usageEnd)))).toBe('data: [DONE]\n\n');
    expect(tap.flush()).toBeNull();
  });

  it('keeps its own copy of a partial event (the caller may reuse its buffer)', () => {
    const input = inputOf(c);
    const first = Buffer.byteLength(c.events[0]!, 'utf8');
    const tap = new SseUsageTap('chat.completions', false);
    // A chunk with no complete event, then one that completes the first event and leaves a tail.
    const a = Buffer.from(input.subarray(0, 30));
    expect(tap.push(a)).toBeNull();
    a.fill(0x78); // the caller reuses its buffer
    const b = Buffer.from(input.subarray(30, first + 20));
    expect(bin(tap.push(b))).toBe(c.events[0]);
    b.fill(0x78);
    expect(bin(tap.push(Buffer.from(input.subarray(first + 20))))).toBe(bin(input.subarray(first)));
    expect(tap.generatedText()).toBe('Hello! How can I help you today?');
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });

    // Same with nothing pending before: a complete event and a tail in one chunk.
    const tap2 = new SseUsageTap('chat.completions', false);
    const d = Buffer.from(input.subarray(0, first + 20));
    expect(bin(tap2.push(d))).toBe(c.events[0]);
    d.fill(0x78);
    expect(bin(tap2.push(Buffer.from(input.subarray(first + 20))))).toBe(bin(input.subarray(first)));
    expect(tap2.generatedText()).toBe('Hello! How can I help you today?');
  });

  it('treats empty chunks as no-ops', () => {
    const input = inputOf(c);
    const tap = new SseUsageTap('chat.completions', false);
    expect(tap.push(Buffer.alloc(0))).toBeNull();
    const out = tap.push(input);
    expect(tap.push(Buffer.alloc(0))).toBeNull();
    const rest = tap.flush();
    expect(bin(out) + bin(rest)).toBe(bin(input));
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
  });
});

describe('SseUsageTap: CRLF-delimited streams', () => {
  const c = chatStream('\r\n\r\n');

  it('the fixture uses \\r\\n\\r\\n and never \\n\\n', () => {
    expect(inputOf(c).includes('\n\n')).toBe(false);
    expect(c.events.every((e) => e.endsWith('\r\n\r\n'))).toBe(true);
  });

  it.each([false, true])('forwards, strips and records exactly under every split (strip=%s)', (strip) => {
    verifyAllSplits(c, strip, strip ? 101 : 202);
  });

  it('strips exactly the usage event including its \\r\\n\\r\\n', () => {
    const { all, tap } = feed(c.operation, true, [inputOf(c)]);
    expect(bin(all)).toBe(bin(expectedOutput(c, true)));
    expect(bin(all).endsWith('"usage":null}\r\n\r\ndata: [DONE]\r\n\r\n')).toBe(true);
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
  });

  it('handles a CRLF Responses stream', () => {
    verifyAllSplits(responsesStream('response.completed', '\r\n\r\n'), false, 303);
  });
});

describe('SseUsageTap: multi-byte UTF-8 split across chunks', () => {
  const contents = ['こんにちは', '、世界！', ' 🎉🚀', ' Ünïcödé ', '👩‍👩‍👧‍👦', ' 日本語のテキスト。'];
  const c = chatStream('\n\n', contents);

  it.each([false, true])('keeps the generated text exact under every split (strip=%s)', (strip) => {
    verifyAllSplits(c, strip, strip ? 5 : 6);
  });

  it('keeps the text exact when a chunk boundary falls inside an emoji and inside a kana', () => {
    const input = inputOf(c);
    const emoji = input.indexOf(Buffer.from('🎉', 'utf8'));
    const kana = input.indexOf(Buffer.from('ち', 'utf8'));
    expect(emoji).toBeGreaterThan(0);
    expect(kana).toBeGreaterThan(0);
    const cuts = [kana + 1, kana + 2, emoji + 1, emoji + 3].sort((a, b) => a - b);
    const { all, tap } = feed(c.operation, false, piecesAt(input, cuts));
    expect(bin(all)).toBe(bin(input));
    expect(tap.generatedText()).toBe(contents.join(''));
    expect(tap.generatedText()).not.toContain('\uFFFD');
  });
});

describe('SseUsageTap: legacy completions', () => {
  const c = completionsStream();

  it('records choices[].text and usage', () => {
    const { tap, all } = feed(c.operation, false, [inputOf(c)]);
    expect(tap.generatedText()).toBe(' there was a lighthouse keeper.');
    expect(tap.usage).toEqual({ prompt: 4, completion: 5, total: 9 });
    expect(bin(all)).toBe(bin(inputOf(c)));
  });

  it.each([false, true])('under every split (strip=%s)', (strip) => {
    verifyAllSplits(c, strip, strip ? 41 : 42);
  });
});

describe('SseUsageTap: tool-call deltas', () => {
  const c = toolCallStream();

  it('counts the function name and argument deltas as generated text', () => {
    const { tap } = feed(c.operation, true, [inputOf(c)]);
    expect(tap.generatedText()).toBe('get_weather{"city":"Paris","unit":"c"}');
    expect(tap.usage).toEqual({ prompt: 81, completion: 17, total: 98 });
  });

  it.each([false, true])('under every split (strip=%s)', (strip) => {
    verifyAllSplits(c, strip, strip ? 91 : 92);
  });

  it('counts refusal deltas', () => {
    const events = [
      dataEvent(chatChunk([{ index: 0, delta: { role: 'assistant', content: null, refusal: '' }, finish_reason: null }])),
      dataEvent(chatChunk([{ index: 0, delta: { refusal: "I'm sorry, " }, finish_reason: null }])),
      dataEvent(chatChunk([{ index: 0, delta: { refusal: "I can't help with that." }, finish_reason: null }])),
      dataEvent(chatChunk([{ index: 0, delta: {}, finish_reason: 'stop' }])),
      'data: [DONE]\n\n',
    ];
    const { tap } = feed('chat.completions', false, [Buffer.from(events.join(''), 'utf8')]);
    expect(tap.generatedText()).toBe("I'm sorry, I can't help with that.");
    expect(tap.usage).toBeNull();
  });

  it('counts text from every choice when n > 1', () => {
    const events = [
      dataEvent(chatChunk([{ index: 0, delta: { content: 'A' } }, { index: 1, delta: { content: 'B' } }])),
      dataEvent(chatChunk([{ index: 1, delta: { content: 'b' } }])),
      dataEvent(chatChunk([{ index: 0, delta: { content: 'a' } }])),
    ];
    const { tap } = feed('chat.completions', false, [Buffer.from(events.join(''), 'utf8')]);
    expect(tap.generatedText()).toBe('ABba');
  });
});

describe('SseUsageTap: Responses API', () => {
  const completed = responsesStream('response.completed');
  const incomplete = responsesStream('response.incomplete');

  it('reads output_text deltas (not the *.done repeats) and usage from response.completed', () => {
    const { tap, all } = feed('responses', false, [inputOf(completed)]);
    expect(tap.generatedText()).toBe('Tokens are pieces of text — 日本語も 🎉.');
    expect(tap.usage).toEqual({ prompt: 37, completion: 11, total: 48 });
    expect(bin(all)).toBe(bin(inputOf(completed)));
  });

  it('reads usage from response.incomplete', () => {
    const { tap } = feed('responses', false, [inputOf(incomplete)]);
    expect(tap.usage).toEqual({ prompt: 37, completion: 11, total: 48 });
    expect(tap.generatedText()).toBe('Tokens are pieces of text — 日本語も 🎉.');
  });

  it('has no usage before the final event', () => {
    const input = inputOf(completed);
    const lastStart = input.length - Buffer.byteLength(completed.events.at(-1)!, 'utf8');
    const tap = new SseUsageTap('responses', false);
    tap.push(input.subarray(0, lastStart));
    expect(tap.usage).toBeNull();
    tap.push(input.subarray(lastStart));
    expect(tap.usage).toEqual({ prompt: 37, completion: 11, total: 48 });
  });

  it('never strips anything, even when asked to', () => {
    const { all, tap } = feed('responses', true, [inputOf(completed)]);
    expect(bin(all)).toBe(bin(inputOf(completed)));
    expect(tap.usage).not.toBeNull();
  });

  it.each([false, true])('response.completed under every split (strip=%s)', (strip) => {
    verifyAllSplits(completed, strip, strip ? 61 : 62);
  });

  it('response.incomplete under every split', () => {
    verifyAllSplits(incomplete, false, 63);
  });

  it('counts function_call_arguments and refusal deltas; keeps earlier usage when response.failed has none', () => {
    let seq = 0;
    const e = (payload: { type: string } & Record<string, unknown>) => namedEvent({ ...payload, sequence_number: seq++ });
    const events = [
      e({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '{"q":' }),
      e({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 0, delta: '"x"}' }),
      e({ type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 0, arguments: '{"q":"x"}' }),
      e({ type: 'response.refusal.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'No.' }),
      e({ type: 'response.refusal.done', item_id: 'msg_1', output_index: 1, content_index: 0, refusal: 'No.' }),
      e({ type: 'response.completed', response: { id: 'resp_1', usage: { input_tokens: 5, output_tokens: 6, total_tokens: 11 } } }),
      e({ type: 'response.failed', response: { id: 'resp_1', usage: null, error: { code: 'server_error', message: 'x' } } }),
    ];
    const { tap } = feed('responses', false, [Buffer.from(events.join(''), 'utf8')]);
    expect(tap.generatedText()).toBe('{"q":"x"}No.');
    expect(tap.usage).toEqual({ prompt: 5, completion: 6, total: 11 });
  });

  it('does not read chat-style chunks in a Responses stream, nor Responses events in a chat stream', () => {
    const chat = inputOf(chatStream());
    const { tap: r } = feed('responses', false, [chat]);
    expect(r.generatedText()).toBe('');
    expect(r.usage).toBeNull();
    const { tap: ch } = feed('chat.completions', false, [inputOf(completed)]);
    expect(ch.generatedText()).toBe('');
    expect(ch.usage).toBeNull();
  });
});

describe('SseUsageTap: unterminated last event', () => {
  it('flush returns the unterminated usage chunk as is, and its usage is read', () => {
    const full = chatStream();
    // The upstream closes right after the usage chunk's data line: no blank line, no [DONE].
    const events = full.events.slice(0, full.usageIndex! + 1);
    events[events.length - 1] = events.at(-1)!.replace(/\n\n$/, '\n');
    const c: StreamCase = { ...full, events, terminated: false };
    const { outs, flushed, tap, all } = feed(c.operation, false, [inputOf(c)]);
    expect(bin(outs[0]!)).toBe(bin(Buffer.from(events.slice(0, -1).join(''), 'utf8')));
    expect(bin(flushed)).toBe(bin(Buffer.from(events.at(-1)!, 'utf8')));
    expect(bin(all)).toBe(bin(inputOf(c)));
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
    expect(tap.generatedText()).toBe(full.text);
  });

  it.each([false, true])('under every split; a stripped usage chunk that never ends goes out as is (strip=%s)', (strip) => {
    const full = chatStream();
    const events = full.events.slice(0, full.usageIndex! + 1);
    events[events.length - 1] = events.at(-1)!.replace(/\n\n$/, '');
    // The unterminated last event is flushed as is, so nothing is stripped.
    verifyAllSplits({ ...full, events, usageIndex: null, terminated: false }, strip, strip ? 71 : 72);
  });

  it('flush returns a partial [DONE] and text in an unterminated content chunk is read', () => {
    const events = [...chatStream().events.slice(0, 2), dataEvent(chatChunk([{ index: 0, delta: { content: ' tail' } }])).trimEnd()];
    const c: StreamCase = { operation: 'chat.completions', events, usageIndex: null, usage: null, text: 'Hello tail', terminated: false };
    verifyAllSplits(c, false, 73);
  });

  it('flush returns null when nothing is pending', () => {
    const tap = new SseUsageTap('chat.completions', false);
    expect(tap.flush()).toBeNull();
    tap.push(Buffer.from('data: [DONE]\n\n'));
    expect(tap.flush()).toBeNull();
  });
});

describe('SseUsageTap: odd lines', () => {
  it('ignores non-JSON data lines, comments and other fields, and forwards them untouched', () => {
    const events = [
      ': OPENROUTER PROCESSING\n\n',
      'retry: 3000\n\n',
      'data: this is not json\n\n',
      'data: {"truncated": \n\n',
      'data:\n\n',
      'id: 17\nevent: message\ndata: ' + JSON.stringify(chatChunk([{ index: 0, delta: { content: 'ok' } }])) + '\n\n',
      'data: 42\n\n',
      'data: "a string"\n\n',
      'data: ["array"]\n\n',
      'data: ' + JSON.stringify(chatChunk([], { usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })) + '\n\n',
      'data: [DONE]\n\n',
    ];
    const c: StreamCase = { operation: 'chat.completions', events, usageIndex: events.length - 2, usage: { prompt: 3, completion: 1, total: 4 }, text: 'ok', terminated: true };
    expect(() => feed(c.operation, true, [inputOf(c)])).not.toThrow();
    verifyAllSplits(c, false, 81);
    verifyAllSplits(c, true, 82);
  });

  // BUG: `data: null` is valid JSON; observe() hands null to observeChunk/observeResponsesEvent, which
  // read `.choices` / `.type` of null and throw, so relayStream aborts the client's stream mid-way.
  it.each<[Operation, string]>([
    ['chat.completions', 'data: ' + JSON.stringify(chatChunk([{ index: 0, delta: { content: 'ok' } }])) + '\n\n'],
    ['responses', namedEvent({ type: 'response.output_text.delta', delta: 'ok' })],
  ])('ignores a `data: null` event instead of throwing (%s)', (operation, textEvent) => {
    const input = Buffer.from(`${textEvent}data: null\n\n${textEvent}`, 'utf8');
    let fed: Fed | undefined;
    expect(() => (fed = feed(operation, false, [input]))).not.toThrow();
    expect(bin(fed!.all)).toBe(bin(input));
    expect(fed!.tap.generatedText()).toBe('okok');
  });

  // BUG: same root cause for null entries inside a chunk: choices[i] and delta.tool_calls[i] are read without a null check.
  it.each([
    ['a null choice', { choices: [null, { index: 0, delta: { content: 'ok' } }] }],
    ['a null tool call', { choices: [{ index: 0, delta: { content: 'ok', tool_calls: [null] } }] }],
  ])('ignores %s instead of throwing', (_name, chunk) => {
    const input = Buffer.from(dataEvent(chunk) + 'data: [DONE]\n\n', 'utf8');
    let fed: Fed | undefined;
    expect(() => (fed = feed('chat.completions', false, [input]))).not.toThrow();
    expect(bin(fed!.all)).toBe(bin(input));
    expect(fed!.tap.generatedText()).toBe('ok');
  });

  it('accepts data: without a space', () => {
    const events = [`data:${JSON.stringify(chatChunk([{ index: 0, delta: { content: 'x' } }]))}\n\n`, `data:${JSON.stringify(chatChunk([], { usage: { prompt_tokens: 1, completion_tokens: 1 } }))}\n\n`];
    const { tap, all } = feed('chat.completions', true, [Buffer.from(events.join(''), 'utf8')]);
    expect(tap.generatedText()).toBe('x');
    expect(tap.usage).toEqual({ prompt: 1, completion: 1, total: 2 });
    expect(bin(all)).toBe(bin(Buffer.from(events[0]!, 'utf8')));
  });
});

describe('SseUsageTap: no usage', () => {
  it('leaves usage null when the stream has no usage chunk (client did not ask, upstream ignored it)', () => {
    const full = chatStream();
    const events = full.events.filter((_, i) => i !== full.usageIndex);
    const c: StreamCase = { ...full, events, usageIndex: null, usage: null };
    const { tap, all } = feed(c.operation, true, [inputOf(c)]);
    expect(tap.usage).toBeNull();
    expect(tap.generatedText()).toBe(full.text);
    expect(bin(all)).toBe(bin(inputOf(c)));
    verifyAllSplits(c, true, 91);
  });

  it('leaves usage null when every chunk says usage: null', () => {
    const events = [dataEvent(chatChunk([{ index: 0, delta: { content: 'hi' } }])), 'data: [DONE]\n\n'];
    const { tap } = feed('chat.completions', true, [Buffer.from(events.join(''), 'utf8')]);
    expect(tap.usage).toBeNull();
  });

  it('does not strip a choices: [] chunk without usage (Azure prompt_filter_results)', () => {
    const filter = dataEvent({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' } } }] });
    const events = [filter, ...chatStream().events];
    const c: StreamCase = { ...chatStream(), events, usageIndex: events.length - 2 };
    const { all, tap } = feed(c.operation, true, [inputOf(c)]);
    expect(bin(all).startsWith(filter)).toBe(true);
    expect(bin(all)).toBe(bin(expectedOutput(c, true)));
    expect(tap.usage).toEqual({ prompt: 19, completion: 10, total: 29 });
  });

  it('records but does not strip usage on a chunk that also carries choices', () => {
    const events = [
      dataEvent(chatChunk([{ index: 0, delta: { role: 'assistant', content: 'Hi' } }])),
      dataEvent(chatChunk([{ index: 0, delta: { content: '!' }, finish_reason: 'stop' }], { usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } })),
      'data: [DONE]\n\n',
    ];
    const input = Buffer.from(events.join(''), 'utf8');
    const { all, tap } = feed('chat.completions', true, [input]);
    expect(bin(all)).toBe(bin(input));
    expect(tap.usage).toEqual({ prompt: 2, completion: 2, total: 4 });
    expect(tap.generatedText()).toBe('Hi!');
  });

  it('does not strip a usage chunk whose usage is garbage, and records nothing', () => {
    const events = [dataEvent(chatChunk([{ index: 0, delta: { content: 'Hi' } }])), dataEvent(chatChunk([], { usage: { prompt_tokens: 'many' } })), 'data: [DONE]\n\n'];
    const input = Buffer.from(events.join(''), 'utf8');
    const { all, tap } = feed('chat.completions', true, [input]);
    expect(bin(all)).toBe(bin(input));
    expect(tap.usage).toBeNull();
  });
});

describe('plainContentDelta', () => {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra });
  const delta = (d: Record<string, unknown>, index = 0) => ({ index, delta: d, logprobs: null, finish_reason: null });

  it('takes the text of a chunk that is one plain text delta, escapes decoded', () => {
    expect(plainContentDelta(chunk([delta({ content: ' world' })]))).toBe(' world');
    expect(plainContentDelta(chunk([delta({ content: 'a "quoted" \\ \n é 中 😀' })]))).toBe('a "quoted" \\ \n é 中 😀');
    expect(plainContentDelta(chunk([delta({ content: '' })], { usage: null }))).toBe('');
    expect(plainContentDelta(chunk([delta({ content: 'x' })], { usage: null, system_fingerprint: 'fp' }))).toBe('x');
  });

  it('leaves anything more to the full parse (null)', () => {
    expect(plainContentDelta(chunk([delta({ role: 'assistant', content: '' })]))).toBeNull();
    expect(plainContentDelta(chunk([delta({ content: 'a', refusal: null })]))).toBeNull();
    expect(plainContentDelta(chunk([delta({ content: 'a' }), delta({ content: 'b' }, 1)]))).toBeNull();
    expect(plainContentDelta(chunk([delta({ content: 'a' })], { usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }))).toBeNull();
    expect(plainContentDelta(chunk([delta({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })]))).toBeNull();
    expect(plainContentDelta(chunk([delta({ content: 'he said "usage": {"x": 1}' })]))).toBe('he said "usage": {"x": 1}');
    expect(plainContentDelta('{"choices":[{"delta":{"content":"x"}}], "usage" : {"total_tokens": 3}}')).toBeNull();
  });
});

describe('SseUsageTap: Anthropic Messages stream', () => {
  const message = { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5-20250929', stop_reason: null, stop_sequence: null };
  const start = { input_tokens: 25, cache_creation_input_tokens: 40, cache_read_input_tokens: 300, output_tokens: 1, service_tier: 'standard' };
  // As Anthropic writes them: compact JSON, `event:` then `data:`, a ping among the deltas.
  const events = [
    namedEvent({ type: 'message_start', message: { ...message, usage: start } }),
    namedEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
    namedEvent({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Weather: use the tool.' } }),
    namedEvent({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } }),
    namedEvent({ type: 'content_block_stop', index: 0 }),
    namedEvent({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
    namedEvent({ type: 'ping' }),
    namedEvent({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me check — 日本 🎉' } }),
    namedEvent({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' "quoted"\n' } }),
    namedEvent({ type: 'content_block_stop', index: 1 }),
    namedEvent({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: {} } }),
    namedEvent({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }),
    namedEvent({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Paris"}' } }),
    namedEvent({ type: 'content_block_stop', index: 2 }),
    namedEvent({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }),
    namedEvent({ type: 'message_stop' }),
  ];
  const c: StreamCase = {
    operation: 'messages',
    events,
    usageIndex: null,
    usage: { prompt: 365, completion: 89, total: 454, cachedInput: 300, cacheWrite: 40 },
    text: 'Weather: use the tool.Let me check — 日本 🎉 "quoted"\nget_weather{"city": "Paris"}',
    terminated: true,
  };

  it('reads the prompt from message_start, the output from message_delta, and all generated text', () => {
    const { tap, all } = feed('messages', false, [inputOf(c)]);
    expect(all.equals(inputOf(c))).toBe(true);
    expect(tap.promptTokens).toBe(365);
    expect(tap.usage).toEqual(c.usage);
    expect(tap.generatedText()).toBe(c.text);
  });

  it('under every split', () => {
    verifyAllSplits(c, false, 93);
  });

  it('before message_delta, knows the prompt but has no final usage (a client that left)', () => {
    const { tap } = feed('messages', false, [Buffer.from(events.slice(0, 9).join(''), 'utf8')]);
    expect(tap.promptTokens).toBe(365);
    expect(tap.usage).toBeNull();
    expect(tap.generatedText()).toBe('Weather: use the tool.Let me check — 日本 🎉 "quoted"\n');
  });

  it('takes the input side from message_delta when the upstream reports it there', () => {
    const stream = [
      namedEvent({ type: 'message_start', message: { ...message, usage: { input_tokens: 10, output_tokens: 1 } } }),
      namedEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 12, cache_read_input_tokens: 5, output_tokens: 3 } }),
    ];
    const { tap } = feed('messages', false, [Buffer.from(stream.join(''), 'utf8')]);
    expect(tap.usage).toEqual({ prompt: 17, completion: 3, total: 20, cachedInput: 5 });
  });
});
