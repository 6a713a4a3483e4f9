import { describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens } from '../../src/accounting/count.js';
import { ANTHROPIC_ATTACHMENT_TOKENS, IMAGE_TOKENS } from '../../src/accounting/estimate.js';
import { estimatePromptTokens } from '../../src/operations/registry.js';

const O200K = 'o200k_base';
const CL100K = 'cl100k_base';
const c = (text: string, encoding: 'o200k_base' | 'cl100k_base' = O200K) => countTextTokens(text, encoding);
const json = (value: unknown) => c(JSON.stringify(value));

const messages = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', name: 'alice', content: 'What is the weather in Paris today?' },
];

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather for a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
        required: ['city'],
      },
    },
  },
];

describe('IMAGE_TOKENS', () => {
  it('is 85 at low detail and 765 otherwise', () => {
    expect(IMAGE_TOKENS).toEqual({ low: 85, high: 765 });
  });
});

describe('estimatePromptTokens: chat.completions', () => {
  it('equals countChatPromptTokens for text-only messages', () => {
    const estimate = estimatePromptTokens('chat.completions', { model: 'gpt-4o', messages }, O200K);
    expect(estimate).toBe(countChatPromptTokens(messages, O200K));
    expect(estimate).toBeGreaterThan(20);
  });

  it('ignores other request fields (model, temperature, stream options)', () => {
    const plain = estimatePromptTokens('chat.completions', { messages }, O200K);
    const decorated = estimatePromptTokens(
      'chat.completions',
      { model: 'gpt-4o', messages, temperature: 0.3, max_tokens: 500, stream: true, stream_options: { include_usage: true }, user: 'u-1' },
      O200K,
    );
    expect(decorated).toBe(plain);
  });

  it('is 3 without messages, or when messages is not an array', () => {
    expect(estimatePromptTokens('chat.completions', {}, O200K)).toBe(3);
    expect(estimatePromptTokens('chat.completions', { messages: 'hello' }, O200K)).toBe(3);
    expect(estimatePromptTokens('chat.completions', { messages: { role: 'user', content: 'x' } }, O200K)).toBe(3);
  });

  it('adds exactly the tokens of JSON.stringify(tools)', () => {
    const base = estimatePromptTokens('chat.completions', { messages }, O200K);
    const withTools = estimatePromptTokens('chat.completions', { messages, tools }, O200K);
    expect(withTools - base).toBe(json(tools));
    expect(json(tools)).toBeGreaterThan(20);
  });

  it('adds nothing for an empty tools array', () => {
    const base = estimatePromptTokens('chat.completions', { messages }, O200K);
    expect(estimatePromptTokens('chat.completions', { messages, tools: [] }, O200K)).toBe(base);
  });

  it('adds legacy function definitions', () => {
    const functions = [{ name: 'lookup', description: 'Look something up', parameters: { type: 'object', properties: {} } }];
    const base = estimatePromptTokens('chat.completions', { messages }, O200K);
    expect(estimatePromptTokens('chat.completions', { messages, functions }, O200K) - base).toBe(json(functions));
    expect(estimatePromptTokens('chat.completions', { messages, tools, functions }, O200K) - base).toBe(json(tools) + json(functions));
  });

  it('adds a json_schema response_format, but not json_object or text', () => {
    const format = {
      type: 'json_schema',
      json_schema: {
        name: 'weather',
        strict: true,
        schema: { type: 'object', properties: { temp: { type: 'number' } }, required: ['temp'], additionalProperties: false },
      },
    };
    const base = estimatePromptTokens('chat.completions', { messages }, O200K);
    expect(estimatePromptTokens('chat.completions', { messages, response_format: format }, O200K) - base).toBe(json(format));
    expect(estimatePromptTokens('chat.completions', { messages, response_format: { type: 'json_object' } }, O200K)).toBe(base);
    expect(estimatePromptTokens('chat.completions', { messages, response_format: { type: 'text' } }, O200K)).toBe(base);
  });

  it.each([
    ['low', IMAGE_TOKENS.low],
    ['high', IMAGE_TOKENS.high],
    ['auto', IMAGE_TOKENS.high],
    [undefined, IMAGE_TOKENS.high],
  ])('adds a fixed estimate for an image_url part at detail %s', (detail, tokens) => {
    const text = { type: 'text', text: 'What is in this picture?' };
    const image = { type: 'image_url', image_url: detail === undefined ? { url: 'https://example.com/a.png' } : { url: 'https://example.com/a.png', detail } };
    const textOnly = estimatePromptTokens('chat.completions', { messages: [{ role: 'user', content: [text] }] }, O200K);
    const withImage = estimatePromptTokens('chat.completions', { messages: [{ role: 'user', content: [text, image] }] }, O200K);
    expect(withImage - textOnly).toBe(tokens);
  });

  it('adds one estimate per image across messages', () => {
    const low = { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } };
    const high = { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'high' } };
    const body = {
      messages: [
        { role: 'user', content: [low, low] },
        { role: 'user', content: [high] },
      ],
    };
    const framing = countChatPromptTokens(body.messages, O200K);
    expect(estimatePromptTokens('chat.completions', body, O200K)).toBe(framing + 2 * 85 + 765);
  });

  it('does not count the image URL (e.g. a huge data: URL) as text', () => {
    const small = { type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } };
    const large = { type: 'image_url', image_url: { url: `data:image/png;base64,${'QUJD'.repeat(5000)}` } };
    const a = estimatePromptTokens('chat.completions', { messages: [{ role: 'user', content: [small] }] }, O200K);
    const b = estimatePromptTokens('chat.completions', { messages: [{ role: 'user', content: [large] }] }, O200K);
    expect(b).toBe(a);
  });

  it('counts an assistant message’s tool_calls as their JSON', () => {
    const toolCalls = [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' } }];
    const history = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: toolCalls },
      { role: 'tool', tool_call_id: 'call_abc123', content: '{"temp":21}' },
    ];
    const estimate = estimatePromptTokens('chat.completions', { messages: history }, O200K);
    expect(estimate).toBe(countChatPromptTokens(history, O200K) + json(toolCalls));
    // The tool result is plain content.
    expect(countChatPromptTokens(history, O200K)).toBe(countChatPromptTokens(messages, O200K) + (3 + c('assistant')) + (3 + c('tool') + c('{"temp":21}')));
  });

  it('counts a legacy assistant function_call as its JSON', () => {
    const functionCall = { name: 'lookup', arguments: '{"q":"tollgate"}' };
    const history = [...messages, { role: 'assistant', content: null, function_call: functionCall }];
    expect(estimatePromptTokens('chat.completions', { messages: history }, O200K)).toBe(countChatPromptTokens(history, O200K) + json(functionCall));
  });

  it('ignores non-object junk in messages without throwing', () => {
    const base = estimatePromptTokens('chat.completions', { messages }, O200K);
    const junk = [null, undefined, 0, 42, 'user: hi', true, ...messages, Symbol.for('x')];
    expect(() => estimatePromptTokens('chat.completions', { messages: junk }, O200K)).not.toThrow();
    expect(estimatePromptTokens('chat.completions', { messages: junk }, O200K)).toBe(base);
    // Junk fields inside a message object are ignored too.
    const odd = [{ role: 'user', content: 'hi', tool_calls: 'nope', name: 12 }];
    expect(() => estimatePromptTokens('chat.completions', { messages: odd, tools: 'x', response_format: 'json' }, O200K)).not.toThrow();
    expect(estimatePromptTokens('chat.completions', { messages: odd, tools: 'x', response_format: 'json' }, O200K)).toBe(3 + 3 + c('user') + c('hi'));
  });

  it('ignores junk parts inside content arrays', () => {
    const body = { messages: [{ role: 'user', content: [null, 5, 'str', { type: 'image_url' }, { type: 'text', text: 'hi' }] }] };
    expect(() => estimatePromptTokens('chat.completions', body, O200K)).not.toThrow();
    // The bare { type: 'image_url' } is still an image (no detail → high).
    expect(estimatePromptTokens('chat.completions', body, O200K)).toBe(3 + 3 + c('user') + c('hi') + IMAGE_TOKENS.high);
  });

  it('depends on the encoding for some text', () => {
    const body = { messages: [{ role: 'user', content: 'Здравствуйте, мир' }] };
    const o200k = estimatePromptTokens('chat.completions', body, O200K);
    const cl100k = estimatePromptTokens('chat.completions', body, CL100K);
    expect(o200k).toBe(3 + 3 + 1 + 3);
    expect(cl100k).toBe(3 + 3 + 1 + 9);
  });
});

describe('estimatePromptTokens: completions', () => {
  it('counts a string prompt', () => {
    expect(estimatePromptTokens('completions', { prompt: 'Once upon a time' }, O200K)).toBe(c('Once upon a time'));
  });

  it('counts an array of string prompts', () => {
    expect(estimatePromptTokens('completions', { prompt: ['Once upon a time', 'hello world'] }, O200K)).toBe(c('Once upon a time') + c('hello world'));
  });

  it('counts token-id prompts one token per id', () => {
    expect(estimatePromptTokens('completions', { prompt: [1, 2, 3, 4] }, O200K)).toBe(4);
    expect(estimatePromptTokens('completions', { prompt: [[1, 2, 3], [4, 5]] }, O200K)).toBe(5);
  });

  it('is 0 for a missing or unusable prompt', () => {
    expect(estimatePromptTokens('completions', {}, O200K)).toBe(0);
    expect(estimatePromptTokens('completions', { prompt: null }, O200K)).toBe(0);
    expect(estimatePromptTokens('completions', { prompt: { text: 'x' } }, O200K)).toBe(0);
    expect(estimatePromptTokens('completions', { prompt: '' }, O200K)).toBe(0);
  });

  it('does not read chat messages', () => {
    expect(estimatePromptTokens('completions', { messages, prompt: 'hi' }, O200K)).toBe(c('hi'));
  });

  it('depends on the encoding', () => {
    expect(estimatePromptTokens('completions', { prompt: 'こんにちは世界' }, CL100K)).toBe(4);
    expect(estimatePromptTokens('completions', { prompt: 'こんにちは世界' }, O200K)).toBe(2);
  });
});

describe('estimatePromptTokens: embeddings', () => {
  it('counts a string input', () => {
    const input = 'The food was delicious and the waiter was friendly.';
    expect(estimatePromptTokens('embeddings', { model: 'text-embedding-3-small', input }, CL100K)).toBe(c(input, CL100K));
  });

  it('counts an array of strings', () => {
    const input = ['first document', 'second, longer document about tokens', ''];
    expect(estimatePromptTokens('embeddings', { input }, CL100K)).toBe(c(input[0]!, CL100K) + c(input[1]!, CL100K));
  });

  it('counts one token-id array by its length', () => {
    expect(estimatePromptTokens('embeddings', { input: [9906, 1917, 0, 100, 7] }, CL100K)).toBe(5);
  });

  it('counts an array of token-id arrays by total length', () => {
    expect(estimatePromptTokens('embeddings', { input: [[9906, 1917], [1, 2, 3, 4], []] }, CL100K)).toBe(6);
  });

  it('ignores junk entries', () => {
    expect(estimatePromptTokens('embeddings', { input: [null, { a: 1 }, true, 'hello world'] }, CL100K)).toBe(2);
    expect(estimatePromptTokens('embeddings', { input: 5 }, CL100K)).toBe(0);
    expect(estimatePromptTokens('embeddings', {}, CL100K)).toBe(0);
  });
});

describe('estimatePromptTokens: responses', () => {
  it('counts a string input plus instructions', () => {
    const body = { model: 'gpt-4.1', instructions: 'Answer in one word.', input: 'What colour is the sky?' };
    expect(estimatePromptTokens('responses', body, O200K)).toBe(c('Answer in one word.') + c('What colour is the sky?'));
    expect(estimatePromptTokens('responses', { input: 'What colour is the sky?' }, O200K)).toBe(c('What colour is the sky?'));
    expect(estimatePromptTokens('responses', { instructions: 'Answer in one word.' }, O200K)).toBe(c('Answer in one word.'));
  });

  it('counts message items: 3 each plus their content (string or input_text parts)', () => {
    const input = [
      { role: 'developer', content: 'Be brief.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello world' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi there!' }] },
    ];
    expect(estimatePromptTokens('responses', { input }, O200K)).toBe(3 + c('Be brief.') + 3 + c('hello world') + 3 + c('Hi there!'));
  });

  it('counts function_call and function_call_output items', () => {
    const input = [
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21,"sky":"clear"}' },
    ];
    expect(estimatePromptTokens('responses', { input }, O200K)).toBe(
      3 + c('Weather in Paris?') + 3 + c('{"city":"Paris"}') + 3 + c('{"temp":21,"sky":"clear"}'),
    );
  });

  it.each([
    ['low', IMAGE_TOKENS.low],
    ['high', IMAGE_TOKENS.high],
    ['auto', IMAGE_TOKENS.high],
    [undefined, IMAGE_TOKENS.high],
  ])('adds a fixed estimate for an input_image part at detail %s', (detail, tokens) => {
    const text = { type: 'input_text', text: 'Describe this.' };
    const image = detail === undefined ? { type: 'input_image', image_url: 'https://example.com/a.png' } : { type: 'input_image', image_url: 'https://example.com/a.png', detail };
    const textOnly = estimatePromptTokens('responses', { input: [{ role: 'user', content: [text] }] }, O200K);
    const withImage = estimatePromptTokens('responses', { input: [{ role: 'user', content: [text, image] }] }, O200K);
    expect(withImage - textOnly).toBe(tokens);
    expect(textOnly).toBe(3 + c('Describe this.'));
  });

  it('adds tool definitions and a json_schema text.format', () => {
    const responseTools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const format = { type: 'json_schema', name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } };
    const base = estimatePromptTokens('responses', { input: 'hi' }, O200K);
    expect(estimatePromptTokens('responses', { input: 'hi', tools: responseTools }, O200K) - base).toBe(json(responseTools));
    expect(estimatePromptTokens('responses', { input: 'hi', text: { format } }, O200K) - base).toBe(json(format));
    expect(estimatePromptTokens('responses', { input: 'hi', text: { format: { type: 'text' } } }, O200K)).toBe(base);
  });

  it('ignores junk input items without throwing', () => {
    const input = [null, 7, 'loose string', false, { role: 'user', content: 'hello world' }];
    expect(() => estimatePromptTokens('responses', { input }, O200K)).not.toThrow();
    expect(estimatePromptTokens('responses', { input }, O200K)).toBe(3 + 2);
    expect(estimatePromptTokens('responses', { input: 42, instructions: 7 }, O200K)).toBe(0);
  });

  it('depends on the encoding', () => {
    const body = { instructions: 'Здравствуйте, мир', input: 'hello world' };
    expect(estimatePromptTokens('responses', body, CL100K)).toBe(9 + 2);
    expect(estimatePromptTokens('responses', body, O200K)).toBe(3 + 2);
  });
});

describe('estimatePromptTokens: Anthropic Messages', () => {
  const tool = { name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

  it('counts the system prompt (string or blocks), each message and the tool definitions', () => {
    const body = { system: 'Be brief.', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [tool] };
    expect(estimatePromptTokens('messages', body, O200K)).toBe(c('Be brief.') + 3 + c('Weather in Paris?') + json([tool]));
    const blocks = { ...body, system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }] };
    expect(estimatePromptTokens('messages', blocks, O200K)).toBe(estimatePromptTokens('messages', body, O200K));
  });

  it('counts tool calls, tool results and thinking; reserves a fixed estimate per image or binary document', () => {
    const body = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture and this file?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Look closer.', signature: 'sig' },
            { type: 'tool_use', id: 'toolu_1', name: 'zoom', input: { factor: 2 } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'A cat.' }] }] },
      ],
    };
    const expected =
      3 + c('What is in this picture and this file?') + 2 * ANTHROPIC_ATTACHMENT_TOKENS + c('Plain notes.') +
      3 + c('Look closer.') + c('zoom') + json({ factor: 2 }) +
      3 + c('A cat.');
    expect(estimatePromptTokens('messages', body, O200K)).toBe(expected);
  });
});
