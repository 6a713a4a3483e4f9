import { ANTHROPIC_TOOL, COMPLETION, QUESTION, NEVER_FITS_MAX_TOKENS, REFUSED_MAX_TOKENS, SIM, expectNeverFits, expectRetryAfterHonoured, expectRefusal, startClientGateway, type ClientGateway } from '../support/client-gateway.js';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const messages: Anthropic.MessageParam[] = [{ role: 'user', content: QUESTION }];
const testTool: Anthropic.Tool = { name: 'test_tool', description: 'echoes', input_schema: { type: 'object', properties: { value: { type: 'string' } } } };

/** @anthropic-ai/sdk, unchanged, against `/anthropic`. The tool call comes from a recording. */
describe('@anthropic-ai/sdk', () => {
  let tg: ClientGateway;
  let client: Anthropic;
  const connect = (apiKey: string) => new Anthropic({ baseURL: `${tg.url}/anthropic`, apiKey, maxRetries: 0 });

  beforeAll(async () => {
    tg = await startClientGateway();
    client = connect(tg.key);
  });
  afterAll(() => tg.close());

  it('messages', async () => {
    const res = await client.messages.create({ model: SIM, max_tokens: 100, messages });
    expect(res.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^Hello/) });
    expect(res.usage.output_tokens).toBe(COMPLETION);
  });

  it('stream', async () => {
    const stream = client.messages.stream({ model: SIM, max_tokens: 100, messages });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toMatch(/^Hello/);
    expect(final.usage.output_tokens).toBe(COMPLETION);
  });

  it('tools: a recorded tool_use, then the tool_result sent back', async () => {
    const first = await client.messages.create({ model: ANTHROPIC_TOOL, max_tokens: 200, tools: [testTool], messages: [{ role: 'user', content: 'Use test_tool with "test".' }] });
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(use).toMatchObject({ name: 'test_tool', input: { value: 'test' } });
    const second = await client.messages.create({
      model: SIM,
      max_tokens: 100,
      tools: [testTool],
      messages: [
        { role: 'user', content: 'Use test_tool with "test".' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'done' }] },
      ],
    });
    expect(second.content[0]).toMatchObject({ type: 'text' });
  });

  it('429: a RateLimitError with Retry-After, sent once', async () => {
    const limited = await tg.rateLimited();
    const error = await connect(limited.key)
      .messages.create({ model: SIM, max_tokens: REFUSED_MAX_TOKENS, messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expectRefusal(error, 429, (error as InstanceType<typeof Anthropic.APIError>).headers);
    expect(await limited.attempts()).toBe(1);
  });

  it('429 with one retry allowed: the SDK waits Retry-After, then succeeds', async () => {
    await expectRetryAfterHonoured(tg, (apiKey) =>
      new Anthropic({ baseURL: `${tg.url}/anthropic`, apiKey, maxRetries: 1 }).messages.create({ model: SIM, max_tokens: REFUSED_MAX_TOKENS, messages }),
    );
  });

  it('429 that can never succeed: x-should-retry false, not retried even with maxRetries 2', async () => {
    const limited = await tg.neverFits();
    const retrying = new Anthropic({ baseURL: `${tg.url}/anthropic`, apiKey: limited.key, maxRetries: 2 });
    const error = await retrying.messages.create({ model: SIM, max_tokens: NEVER_FITS_MAX_TOKENS, messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    expectNeverFits(error, (error as InstanceType<typeof Anthropic.APIError>).headers);
    expect(await limited.attempts()).toBe(1);
  });

  it('403: a spent quota is a PermissionDeniedError, not retried', async () => {
    const spent = await tg.quotaSpent();
    const error = await connect(spent.key)
      .messages.create({ model: SIM, max_tokens: REFUSED_MAX_TOKENS, messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expectRefusal(error, 403, (error as InstanceType<typeof Anthropic.APIError>).headers);
    expect(await spent.attempts()).toBe(1);
  });
});
