import { getEventListeners, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Cancellation } from '../../src/providers/cancellation.js';
import type { Operation, UpstreamCall, UpstreamResponse } from '../../src/providers/provider.js';
import { createSimulatedProvider } from '../../src/providers/simulated/index.js';
import { FIRST_TOKEN, VOCABULARY } from '../../src/providers/simulated/text.js';
import type { DeploymentRuntime } from '../../src/snapshot/config-snapshot.js';
import { countChatPromptTokens, countTextTokens } from '../../src/accounting/count.js';

const provider = createSimulatedProvider();

function deployment(options: Record<string, unknown> = {}): DeploymentRuntime {
  return {
    id: 'dep-1',
    name: 'sim',
    resourceName: 'res',
    provider: 'simulated',
    upstreamUrl: null,
    upstreamModel: 'sim-model',
    upstreamApiKey: null,
    apiVersion: null,
    defaultCompletionReservation: null,
    options,
  };
}

interface CallInit {
  options?: Record<string, unknown>;
  stream?: boolean;
  signal?: AbortSignal;
  cancellation?: Cancellation;
}

function makeCall(operation: Operation, body: Record<string, unknown>, init: CallInit = {}): UpstreamCall {
  return {
    operation,
    deployment: deployment(init.options),
    body,
    bodyText: null,
    stream: init.stream ?? false,
    clientApiVersion: null,
    clientHeaders: {},
    requestId: 'req-1',
    cancellation: init.cancellation ?? Cancellation.following(init.signal ?? new AbortController().signal),
  };
}

/** The simulated provider answers with Node streams. */
const bodyOf = (response: UpstreamResponse) => response.body as Readable;

async function readAll(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) text += String(chunk);
  return text;
}

type Json = Record<string, any>;  

async function sendJson(
  operation: Operation,
  body: Record<string, unknown>,
  init: CallInit = {},
): Promise<{ response: UpstreamResponse; json: Json }> {
  const response = await provider.send(makeCall(operation, body, init));
  return { response, json: JSON.parse(await readAll(bodyOf(response))) as Json };
}

interface SseEvent {
  event: string | null;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      let event: string | null = null;
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
        else throw new Error(`unexpected SSE line: ${line}`);
      }
      return { event, data };
    });
}

async function sendSse(operation: Operation, body: Record<string, unknown>, init: CallInit = {}) {
  const response = await provider.send(makeCall(operation, body, { ...init, stream: true }));
  expect(response.headers['content-type']).toBe('text/event-stream');
  return { response, events: parseSse(await readAll(bodyOf(response))) };
}

const dataJson = (events: readonly SseEvent[]): Json[] =>
  events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json);

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say something.' },
];

describe('simulated provider: vocabulary', () => {
  it('uses only words that are exactly one o200k_base token', () => {
    expect(countTextTokens(FIRST_TOKEN)).toBe(1);
    expect(new Set(VOCABULARY).size).toBe(VOCABULARY.length);
    for (const word of VOCABULARY) {
      expect(word.startsWith(' ')).toBe(true);
      expect(countTextTokens(word), word).toBe(1);
    }
  });

  it('declares its name and operations', () => {
    expect(provider.name).toBe('simulated');
    expect([...provider.operations].sort()).toEqual(['chat.completions', 'completions', 'embeddings', 'messages', 'messages.count_tokens', 'responses']);
  });
});

describe('simulated provider: chat.completions', () => {
  it('answers a standard chat.completion with exact usage', async () => {
    const { response, json } = await sendJson('chat.completions', { model: 'x', messages });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['x-simulated']).toBe('true');
    expect(json.id).toMatch(/^chatcmpl-sim-/);
    expect(json.object).toBe('chat.completion');
    expect(json.model).toBe('sim-model');
    expect(typeof json.created).toBe('number');
    const choice = json.choices[0];
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.refusal).toBeNull();
    expect(choice.logprobs).toBeNull();
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.content.startsWith('Hello')).toBe(true);
    expect(json.usage).toEqual({
      prompt_tokens: countChatPromptTokens(messages),
      completion_tokens: 16,
      total_tokens: countChatPromptTokens(messages) + 16,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(countTextTokens(choice.message.content)).toBe(16);
  });

  it('generates exactly completionTokens tokens, for several lengths', async () => {
    for (const n of [1, 2, 3, 7, 64, 500, 3000]) {
      const { json } = await sendJson(
        'chat.completions',
        { messages: [{ role: 'user', content: `length ${n}` }] },
        { options: { completionTokens: n } },
      );
      expect(json.usage.completion_tokens).toBe(n);
      expect(countTextTokens(json.choices[0].message.content)).toBe(n);
    }
  });

  it('is deterministic for the same prompt and varies with the prompt', async () => {
    const a = await sendJson('chat.completions', { messages });
    const b = await sendJson('chat.completions', { messages });
    const c = await sendJson('chat.completions', { messages: [{ role: 'user', content: 'Something else.' }] });
    expect(a.json.choices[0].message.content).toBe(b.json.choices[0].message.content);
    expect(a.json.choices[0].message.content).not.toBe(c.json.choices[0].message.content);
    expect(a.json.id).not.toBe(b.json.id);
  });

  it('caps generation at max_tokens / max_completion_tokens with finish_reason length', async () => {
    const full = (await sendJson('chat.completions', { messages })).json.choices[0].message.content as string;
    const capped = await sendJson('chat.completions', { messages, max_tokens: 5 });
    expect(capped.json.choices[0].finish_reason).toBe('length');
    expect(capped.json.usage.completion_tokens).toBe(5);
    expect(countTextTokens(capped.json.choices[0].message.content)).toBe(5);
    expect(full.startsWith(capped.json.choices[0].message.content)).toBe(true);

    const both = await sendJson('chat.completions', { messages, max_tokens: 9, max_completion_tokens: 3 });
    expect(both.json.usage.completion_tokens).toBe(3);

    const roomy = await sendJson('chat.completions', { messages, max_completion_tokens: 16 });
    expect(roomy.json.choices[0].finish_reason).toBe('stop');
    expect(roomy.json.usage.completion_tokens).toBe(16);
  });

  it('streams one chunk per token without usage unless asked', async () => {
    const { events } = await sendSse('chat.completions', { messages }, { options: { completionTokens: 6 } });
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = dataJson(events);
    expect(chunks).toHaveLength(1 + 6 + 1);
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect('usage' in chunk).toBe(false);
    }
    expect(chunks[0]?.choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const tokens = chunks.slice(1, 7).map((c) => c.choices[0].delta.content as string);
    for (const token of tokens) expect(countTextTokens(token)).toBe(1);
    expect(tokens[0]).toBe('Hello');
    expect(chunks[7]?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });

    const whole = await sendJson('chat.completions', { messages }, { options: { completionTokens: 6 } });
    expect(tokens.join('')).toBe(whole.json.choices[0].message.content);
  });

  it('adds usage: null to every chunk and a final usage chunk with include_usage', async () => {
    const { events } = await sendSse('chat.completions', {
      messages,
      max_tokens: 4,
      stream_options: { include_usage: true },
    });
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = dataJson(events);
    expect(chunks).toHaveLength(1 + 4 + 1 + 1);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(chunks[5]?.choices[0].finish_reason).toBe('length');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({
      prompt_tokens: countChatPromptTokens(messages),
      completion_tokens: 4,
      total_tokens: countChatPromptTokens(messages) + 4,
    });
  });

  it('pushes each chunk separately, chunkDelayMs apart', async () => {
    const response = await provider.send(
      makeCall('chat.completions', { messages }, { stream: true, options: { completionTokens: 5, chunkDelayMs: 5 } }),
    );
    const pieces: string[] = [];
    const started = Date.now();
    for await (const piece of response.body) pieces.push(String(piece));
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 7 - 5);
    expect(pieces).toHaveLength(1 + 5 + 1 + 1);
    for (const piece of pieces) expect(parseSse(piece)).toHaveLength(1);
  });
});

describe('simulated provider: completions', () => {
  it('answers a text_completion with prompt tokens summed over an array', async () => {
    const prompt = ['Once upon a time', 'in a land far away'];
    const { json } = await sendJson('completions', { prompt, max_tokens: 3 });
    expect(json.object).toBe('text_completion');
    expect(json.id).toMatch(/^cmpl-sim-/);
    expect(json.choices[0].finish_reason).toBe('length');
    expect(countTextTokens(json.choices[0].text)).toBe(3);
    const promptTokens = countTextTokens(prompt[0] ?? '') + countTextTokens(prompt[1] ?? '');
    expect(json.usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: 3, total_tokens: promptTokens + 3 });

    const ids = await sendJson('completions', { prompt: [1, 2, 3, 4] });
    expect(ids.json.usage.prompt_tokens).toBe(4);
  });

  it('streams text chunks, with usage only when asked', async () => {
    const body = { prompt: 'Tell me', stream_options: { include_usage: true } };
    const { events } = await sendSse('completions', body, { options: { completionTokens: 4 } });
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = dataJson(events);
    expect(chunks).toHaveLength(4 + 1 + 1);
    const text = chunks.slice(0, 4).map((c) => c.choices[0].text as string).join('');
    expect(chunks[4]?.choices[0]).toMatchObject({ text: '', finish_reason: 'stop' });
    expect(chunks[5]).toMatchObject({ choices: [], usage: { completion_tokens: 4 } });
    const whole = await sendJson('completions', { prompt: 'Tell me' }, { options: { completionTokens: 4 } });
    expect(text).toBe(whole.json.choices[0].text);

    const plain = await sendSse('completions', { prompt: 'Tell me' }, { options: { completionTokens: 4 } });
    for (const chunk of dataJson(plain.events)) expect('usage' in chunk).toBe(false);
  });
});

describe('simulated provider: embeddings', () => {
  it('returns deterministic unit vectors, float or base64, honouring dimensions', async () => {
    const input = ['alpha beta', 'gamma'];
    const { json } = await sendJson('embeddings', { input, encoding_format: 'float' });
    expect(json.object).toBe('list');
    expect(json.model).toBe('sim-model');
    const expectedTokens = countTextTokens('alpha beta') + countTextTokens('gamma');
    expect(json.usage).toEqual({ prompt_tokens: expectedTokens, total_tokens: expectedTokens });
    expect(json.data).toHaveLength(2);
    const first = json.data[0].embedding as number[];
    expect(json.data[1].index).toBe(1);
    expect(first).toHaveLength(8);
    expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    expect(first).not.toEqual(json.data[1].embedding);

    const again = await sendJson('embeddings', { input: 'alpha beta' });
    expect(again.json.data[0].embedding).toEqual(first);

    const b64 = await sendJson('embeddings', { input, encoding_format: 'base64' });
    const bytes = Buffer.from(b64.json.data[0].embedding as string, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(first);

    const wide = await sendJson('embeddings', { input: 'x', dimensions: 64 }, { options: { embeddingDimensions: 3 } });
    expect(wide.json.data[0].embedding).toHaveLength(64);
    const narrow = await sendJson('embeddings', { input: 'x' }, { options: { embeddingDimensions: 3 } });
    expect(narrow.json.data[0].embedding).toHaveLength(3);

    const ids = await sendJson('embeddings', { input: [[1, 2, 3], [4, 5]] });
    expect(ids.json.usage.prompt_tokens).toBe(5);
  });
});

describe('simulated provider: responses', () => {
  it('answers a completed response with input tokens from input and instructions', async () => {
    const { json } = await sendJson('responses', { model: 'x', input: 'Hi there', instructions: 'Be brief.' });
    expect(json.id).toMatch(/^resp_sim_/);
    expect(json.object).toBe('response');
    expect(json.status).toBe('completed');
    expect(json.model).toBe('sim-model');
    expect(json.error).toBeNull();
    expect(json.incomplete_details).toBeNull();
    const item = json.output[0];
    expect(item).toMatchObject({ type: 'message', status: 'completed', role: 'assistant' });
    expect(item.id).toMatch(/^msg_/);
    const text = item.content[0].text as string;
    expect(item.content[0]).toMatchObject({ type: 'output_text', annotations: [] });
    const inputTokens = countTextTokens('Hi there') + countTextTokens('Be brief.');
    expect(json.usage).toEqual({
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 16,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: inputTokens + 16,
    });
    expect(countTextTokens(text)).toBe(16);
  });

  it('counts message-array input as chat and stops incomplete at max_output_tokens', async () => {
    const { json } = await sendJson('responses', { input: messages, max_output_tokens: 7 });
    expect(json.status).toBe('incomplete');
    expect(json.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(json.usage.input_tokens).toBe(countChatPromptTokens(messages));
    expect(json.usage.output_tokens).toBe(7);
    expect(countTextTokens(json.output[0].content[0].text)).toBe(7);
  });

  it('streams the full event sequence with increasing sequence numbers', async () => {
    const { events } = await sendSse('responses', { input: 'Stream please' }, { options: { completionTokens: 5 } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    const payloads = dataJson(events);
    const types = payloads.map((p) => p.type as string);
    expect(events.map((e) => e.event)).toEqual(types);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(5).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(payloads.map((p) => p.sequence_number)).toEqual(payloads.map((_, i) => i));
    const deltas = payloads.filter((p) => p.type === 'response.output_text.delta').map((p) => p.delta as string);
    const done = payloads.at(-1)?.response;
    expect(done.status).toBe('completed');
    expect(done.output[0].content[0].text).toBe(deltas.join(''));
    expect(done.usage.output_tokens).toBe(5);
    const whole = await sendJson('responses', { input: 'Stream please' }, { options: { completionTokens: 5 } });
    expect(deltas.join('')).toBe(whole.json.output[0].content[0].text);
  });

  it('ends a capped stream with response.incomplete, as OpenAI does', async () => {
    const { events } = await sendSse('responses', { input: 'Stream please', max_output_tokens: 2 });
    const last = dataJson(events).at(-1);
    expect(last?.type).toBe('response.incomplete');
    expect(last?.response.usage.output_tokens).toBe(2);
    expect(last?.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });
});

describe('simulated provider: errors and options', () => {
  it('answers bad input with a 400 OpenAI error', async () => {
    const cases: [Operation, Record<string, unknown>, string][] = [
      ['chat.completions', { model: 'x' }, 'messages'],
      ['chat.completions', { messages: ['hi'] }, 'messages[0]'],
      ['chat.completions', { messages, max_tokens: 0 }, 'max_tokens'],
      ['completions', { prompt: { text: 'x' } }, 'prompt'],
      ['embeddings', { input: 42 }, 'input'],
      ['embeddings', { input: 'x', encoding_format: 'hex' }, 'encoding_format'],
      ['embeddings', { input: 'x', dimensions: 5000 }, 'dimensions'],
      ['responses', {}, 'input'],
      ['responses', { input: 'x', instructions: 3 }, 'instructions'],
    ];
    for (const [operation, body, param] of cases) {
      const { response, json } = await sendJson(operation, body);
      expect(response.status, `${operation} ${param}`).toBe(400);
      expect(json.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(json.error.message).toContain(param.replace(/\[\d+\]$/, ''));
    }
  });

  it('fails every request with failWithStatus', async () => {
    for (const operation of provider.operations) {
      const { response, json } = await sendJson(operation, {}, { options: { failWithStatus: 503 } });
      expect(response.status).toBe(503);
      // In the dialect of the operation: Anthropic's envelope for its Messages API.
      expect(json).toEqual(
        operation.startsWith('messages')
          ? { type: 'error', error: { type: 'api_error', message: 'simulated failure' } }
          : { error: { message: 'simulated failure', type: 'api_error', code: 'simulated_failure' } },
      );
    }
  });

  it('validates options with one-line messages naming the key', () => {
    const settings = (options: Record<string, unknown>) => ({
      upstreamUrl: 'https://ignored.example',
      upstreamModel: null,
      hasUpstreamApiKey: true,
      apiVersion: 'ignored',
      options,
    });
    expect(provider.validate(settings({}))).toBeNull();
    expect(
      provider.validate(
        settings({ latencyMs: 0, chunkDelayMs: 10, completionTokens: 100000, embeddingDimensions: 4096, failWithStatus: 599 }),
      ),
    ).toBeNull();
    expect(provider.validate(settings({ latencyMs: -1 }))?.message).toBe('options.latencyMs must be an integer >= 0');
    expect(provider.validate(settings({ chunkDelayMs: 1.5 }))?.message).toBe('options.chunkDelayMs must be an integer >= 0');
    expect(provider.validate(settings({ completionTokens: 0 }))?.message).toBe(
      'options.completionTokens must be an integer from 1 to 100000',
    );
    expect(provider.validate(settings({ embeddingDimensions: '8' }))?.message).toBe(
      'options.embeddingDimensions must be an integer from 1 to 4096',
    );
    expect(provider.validate(settings({ failWithStatus: 302 }))?.message).toBe(
      'options.failWithStatus must be an integer from 400 to 599',
    );
    expect(provider.validate(settings({ latencyMS: 5 }))?.message).toMatch(/^options\.latencyMS is not a simulated option/);
    // The field at fault comes apart from the message: the admin API reports it as the error's param.
    expect(provider.validate(settings({ latencyMs: -1 }))?.field).toBe('options.latencyMs');
    expect(provider.validate(settings({ latencyMS: 5 }))?.field).toBe('options.latencyMS');
    expect(provider.validate({ ...settings({}), options: [] as unknown as Record<string, unknown> })?.field).toBe('options');
  });

  it('answers a 500 when a deployment carries invalid options', async () => {
    const { response, json } = await sendJson('chat.completions', { messages }, { options: { latencyMs: 'slow' } });
    expect(response.status).toBe(500);
    expect(json.error.message).toContain('options.latencyMs');
  });
});

describe('simulated provider: latency and abort', () => {
  it('waits latencyMs before answering', async () => {
    const started = Date.now();
    await sendJson('chat.completions', { messages }, { options: { latencyMs: 40 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('rejects with the abort reason when aborted before the headers', async () => {
    const controller = new AbortController();
    const pending = provider.send(
      makeCall('chat.completions', { messages }, { signal: controller.signal, options: { latencyMs: 60_000 } }),
    );
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 10);
    await expect(pending).rejects.toBe(reason);

    const already = new AbortController();
    already.abort(reason);
    await expect(provider.send(makeCall('embeddings', { input: 'x' }, { signal: already.signal }))).rejects.toBe(
      reason,
    );
  });

  it('removes its abort listeners once a response is done', async () => {
    const cancellation = new Cancellation();
    const init = { cancellation, options: { latencyMs: 1, chunkDelayMs: 1 } };
    await sendJson('chat.completions', { messages }, init);
    await sendSse('responses', { input: 'x' }, init);
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(cancellation.signal, 'abort')).toHaveLength(0);
  });

  it('stops generating when aborted mid-stream', async () => {
    const controller = new AbortController();
    const response = await provider.send(
      makeCall(
        'chat.completions',
        { messages },
        { stream: true, signal: controller.signal, options: { completionTokens: 100_000, chunkDelayMs: 20 } },
      ),
    );
    const started = Date.now();
    const pieces: string[] = [];
    bodyOf(response).on('data', (piece: Buffer) => {
      pieces.push(piece.toString());
      if (pieces.length === 3) controller.abort();
    });
    await once(bodyOf(response), 'close');
    expect(bodyOf(response).destroyed).toBe(true);
    expect(bodyOf(response).readableEnded).toBe(false);
    expect(pieces).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('leaves no timers behind after an abort', async () => {
    vi.useFakeTimers();
    try {
      const early = new AbortController();
      const pending = provider.send(
        makeCall('responses', { input: 'x' }, { signal: early.signal, options: { latencyMs: 10_000 } }),
      );
      expect(vi.getTimerCount()).toBe(1);
      early.abort();
      await expect(pending).rejects.toBeDefined();
      expect(vi.getTimerCount()).toBe(0);

      const late = new AbortController();
      const response = await provider.send(
        makeCall('responses', { input: 'x' }, { stream: true, signal: late.signal, options: { chunkDelayMs: 1_000 } }),
      );
      const pieces: string[] = [];
      bodyOf(response).on('data', (piece: Buffer) => pieces.push(piece.toString()));
      await vi.advanceTimersByTimeAsync(2_500);
      expect(pieces).toHaveLength(3);
      expect(vi.getTimerCount()).toBe(1);
      late.abort();
      await vi.advanceTimersByTimeAsync(0);
      expect(bodyOf(response).destroyed).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('simulated provider behind the official openai SDK', () => {
  const ROUTES: Record<string, Operation> = {
    '/v1/chat/completions': 'chat.completions',
    '/v1/completions': 'completions',
    '/v1/embeddings': 'embeddings',
    '/v1/responses': 'responses',
  };
  let serverOptions: Record<string, unknown> = {};
  let server: Server;
  let client: OpenAI;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const operation = req.method === 'POST' ? ROUTES[req.url ?? ''] : undefined;
      if (operation === undefined) {
        res.writeHead(404).end();
        return;
      }
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const controller = new AbortController();
        res.on('close', () => controller.abort());
        const body = JSON.parse(raw) as Record<string, unknown>;
        const call = makeCall(operation, body, {
          stream: body.stream === true,
          signal: controller.signal,
          options: serverOptions,
        });
        provider.send(call).then(
          (upstream) => {
            res.writeHead(upstream.status, upstream.headers);
            bodyOf(upstream).pipe(res);
          },
          () => res.destroy(),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    client = new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('serves chat completions, streamed and not', async () => {
    serverOptions = { completionTokens: 12 };
    const chatMessages = [{ role: 'user' as const, content: 'Hi SDK' }];
    const completion = await client.chat.completions.create({ model: 'sim', messages: chatMessages });
    const text = completion.choices[0]?.message.content ?? '';
    expect(countTextTokens(text)).toBe(12);
    expect(completion.usage?.completion_tokens).toBe(12);
    expect(completion.usage?.prompt_tokens).toBe(countChatPromptTokens(chatMessages));

    const stream = await client.chat.completions.create({
      model: 'sim',
      messages: chatMessages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(streamed).toBe(text);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(12);
    expect(usage?.total_tokens).toBe(12 + countChatPromptTokens(chatMessages));
  });

  it('serves legacy completions', async () => {
    serverOptions = {};
    const completion = await client.completions.create({ model: 'sim', prompt: 'Once', max_tokens: 4 });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(countTextTokens(completion.choices[0]?.text ?? '')).toBe(4);
  });

  it('serves embeddings in the SDK default (base64) and float encodings', async () => {
    serverOptions = { embeddingDimensions: 12 };
    const decoded = await client.embeddings.create({ model: 'sim', input: ['one', 'two'] });
    expect(decoded.data).toHaveLength(2);
    const vector = decoded.data[0]?.embedding ?? [];
    expect(vector).toHaveLength(12);
    for (const value of vector) expect(typeof value).toBe('number');
    const floats = await client.embeddings.create({ model: 'sim', input: ['one', 'two'], encoding_format: 'float' });
    expect(floats.data[0]?.embedding).toEqual(vector);
    expect(decoded.usage.prompt_tokens).toBe(countTextTokens('one') + countTextTokens('two'));
    const sized = await client.embeddings.create({ model: 'sim', input: 'one', dimensions: 20 });
    expect(sized.data[0]?.embedding).toHaveLength(20);
  });

  it('serves responses, streamed and not', async () => {
    serverOptions = { completionTokens: 9 };
    const response = await client.responses.create({ model: 'sim', input: 'Hello SDK', instructions: 'Be nice.' });
    expect(response.status).toBe('completed');
    expect(countTextTokens(response.output_text)).toBe(9);
    expect(response.usage?.output_tokens).toBe(9);
    expect(response.usage?.input_tokens).toBe(countTextTokens('Hello SDK') + countTextTokens('Be nice.'));

    const stream = await client.responses.create({
      model: 'sim',
      input: 'Hello SDK',
      instructions: 'Be nice.',
      stream: true,
    });
    let deltas = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas += event.delta;
      if (event.type === 'response.completed') {
        completed = event.response;
        break;
      }
    }
    expect(deltas).toBe(response.output_text);
    expect(completed?.usage?.total_tokens).toBe(response.usage?.total_tokens);

    const helper = client.responses.stream({ model: 'sim', input: 'Hello SDK', instructions: 'Be nice.' });
    const final = await helper.finalResponse();
    expect(final.output_text).toBe(response.output_text);
  });

  it('surfaces failWithStatus as an APIError', async () => {
    serverOptions = { failWithStatus: 429 };
    const error: unknown = await client.chat.completions
      .create({ model: 'sim', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('simulated_failure');
  });
});
