import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, recordedBody, sseEvents, startReplayGateway, type Recording, type ReplayGateway } from './support/recordings.js';

const CATALOG = loadCatalog();
const recording = (id: string): Recording => CATALOG.find((r) => r.id === id)!;

/** The JSON payloads of a recorded event stream, in order (without [DONE]). */
function recordedEvents(id: string): any[] {
  return sseEvents(recordedBody(recording(id)))
    .map((event) => /^data:(.*)$/m.exec(event)?.[1]?.trim())
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data));
}
const recordedChatText = (id: string) => recordedEvents(id).map((c) => c.choices?.[0]?.delta?.content ?? '').join('');

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Replay the recording, please.' }];

/** A few recordings read by the official SDKs through Tollgate: what a real client makes of the relayed stream. */
describe('provider recordings read by the official SDKs', () => {
  let replay: ReplayGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    replay = await startReplayGateway(CATALOG.filter((r) => ['oai-chat-stream-text', 'xai-chat-stream-tools', 'az-chat-stream-filter', 'oai-resp-stream-cached', 'ant-stream-tool', 'ant-stream-thinking'].includes(r.id)));
    openai = new OpenAI({ baseURL: `${replay.gw.url}/openai/v1`, apiKey: replay.key, maxRetries: 0 });
  });
  afterAll(() => replay.close());

  it('openai: a gpt-4.1-nano stream, text as recorded, no usage chunk it did not ask for', async () => {
    let text = '';
    for await (const chunk of await openai.chat.completions.create({ model: 'oai-chat-stream-text', messages, stream: true })) {
      expect(chunk.usage ?? null).toBeNull();
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text.length).toBeGreaterThan(100);
    expect(text).toBe(recordedChatText('oai-chat-stream-text'));
  });

  it('openai: an xAI tool-call stream with usage asked for, the recorded usage and arguments', async () => {
    let usage: OpenAI.CompletionUsage | null | undefined;
    let args = '';
    let name = '';
    const stream = await openai.chat.completions.create({ model: 'xai-chat-stream-tools', messages, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      usage = chunk.usage ?? usage;
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      name ||= call?.function?.name ?? '';
      args += call?.function?.arguments ?? '';
    }
    expect(usage).toMatchObject({ prompt_tokens: 307, completion_tokens: 26, total_tokens: 560 });
    const recorded = recordedEvents('xai-chat-stream-tools').flatMap((c) => c.choices?.[0]?.delta?.tool_calls ?? []);
    expect(name).toBe(recorded[0].function.name);
    expect(args).toBe(recorded.map((t: any) => t.function?.arguments ?? '').join(''));
  });

  it('AzureOpenAI: a model-router stream whose first chunk has no choices', async () => {
    const azure = new AzureOpenAI({ endpoint: replay.gw.url, apiKey: replay.key, apiVersion: '2024-10-21', deployment: 'az-chat-stream-filter', maxRetries: 0 });
    let text = '';
    for await (const chunk of await azure.chat.completions.create({ model: '', messages, stream: true })) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(recordedChatText('az-chat-stream-filter'));
  });

  it('openai: a Responses stream with cached input, its final usage as recorded', async () => {
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of await openai.responses.create({ model: 'oai-resp-stream-cached', input: 'Replay.', stream: true })) {
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(completed?.usage).toMatchObject({ input_tokens: 7112, output_tokens: 463, total_tokens: 7575, input_tokens_details: { cached_tokens: 3072 } });
  });

  it('Anthropic: a text-then-tool_use stream, the tool input assembled from its deltas', async () => {
    const anthropic = new Anthropic({ baseURL: `${replay.gw.url}/anthropic`, apiKey: replay.key, maxRetries: 0 });
    const final = await anthropic.messages.stream({ model: 'ant-stream-tool', max_tokens: 1024, messages: [{ role: 'user', content: 'Replay.' }] }).finalMessage();
    const partial = recordedEvents('ant-stream-tool')
      .filter((e) => e.delta?.type === 'input_json_delta')
      .map((e) => e.delta.partial_json)
      .join('');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({ type: 'tool_use', input: JSON.parse(partial) });
    expect(final.usage).toMatchObject({ input_tokens: 377, output_tokens: 65 });

    const thinking = await anthropic.messages.stream({ model: 'ant-stream-thinking', max_tokens: 1024, messages: [{ role: 'user', content: 'Replay.' }] }).finalMessage();
    expect(thinking.content.map((b) => b.type)).toContain('thinking');
  });
});
