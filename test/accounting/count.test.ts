import { describe, expect, it } from 'vitest';
import { contentText, countChatPromptTokens, countTextTokens, encodingFor, TokenCountCache, type Encoding } from '../../src/accounting/count.js';

describe('encodingFor', () => {
  it.each([
    'gpt-4',
    'gpt-4-0613',
    'gpt-4-32k',
    'gpt-4-turbo',
    'gpt-4-turbo-2024-04-09',
    'gpt-35-turbo',
    'gpt-3.5-turbo',
    'gpt-3.5-turbo-instruct',
    'text-embedding-3-small',
    'text-embedding-3-large',
    'text-embedding-ada-002',
  ])('%s → cl100k_base', (model) => {
    expect(encodingFor(model)).toBe('cl100k_base');
  });

  it.each([
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4o-2024-08-06',
    'gpt-4.1',
    'gpt-4.1-mini',
    'gpt-4.5-preview',
    'o1',
    'o1-mini',
    'o3-mini',
    'o4-mini',
    'gpt-5',
    'gpt-5-mini',
    'llama-3',
    'llama-3.1-70b-instruct',
    'claude-sonnet',
    'mistral-large',
    '',
  ])('%s → o200k_base', (model) => {
    expect(encodingFor(model)).toBe('o200k_base');
  });

  it('only matches the cl100k families as a prefix', () => {
    // A model whose name merely contains "gpt-4" is not the gpt-4 family.
    expect(encodingFor('my-gpt-4')).toBe('o200k_base');
    expect(encodingFor('ft:gpt-4o-mini:org::abc')).toBe('o200k_base');
  });
});

describe('countTextTokens', () => {
  it('counts the empty string as 0 in both encodings', () => {
    expect(countTextTokens('')).toBe(0);
    expect(countTextTokens('', 'cl100k_base')).toBe(0);
    expect(countTextTokens('', 'o200k_base')).toBe(0);
  });

  it('defaults to o200k_base', () => {
    const text = 'Здравствуйте, мир';
    expect(countTextTokens(text)).toBe(countTextTokens(text, 'o200k_base'));
    expect(countTextTokens(text)).not.toBe(countTextTokens(text, 'cl100k_base'));
  });

  it('counts known strings per encoding', () => {
    expect(countTextTokens('hello world', 'cl100k_base')).toBe(2);
    expect(countTextTokens('hello world', 'o200k_base')).toBe(2);
    // o200k_base has a much larger vocabulary for non-Latin scripts.
    expect(countTextTokens('Здравствуйте, мир', 'cl100k_base')).toBe(9);
    expect(countTextTokens('Здравствуйте, мир', 'o200k_base')).toBe(3);
    expect(countTextTokens('こんにちは世界', 'cl100k_base')).toBe(4);
    expect(countTextTokens('こんにちは世界', 'o200k_base')).toBe(2);
  });

  it('grows with the text', () => {
    const one = countTextTokens('The quick brown fox jumps over the lazy dog.');
    const two = countTextTokens('The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.');
    expect(one).toBeGreaterThan(5);
    expect(two).toBeGreaterThan(one);
  });
});

describe('contentText', () => {
  it('reads strings and text parts, ignores everything else', () => {
    expect(contentText('plain')).toBe('plain');
    expect(contentText(null)).toBe('');
    expect(contentText(undefined)).toBe('');
    expect(contentText(42)).toBe('');
    expect(
      contentText([
        { type: 'text', text: 'a' },
        { type: 'image_url', image_url: { url: 'https://example.com/x.png' } },
        null,
        'bare string',
        { type: 'text', text: 'b' },
        { type: 'text', text: 7 },
      ]),
    ).toBe('ab');
  });
});

describe('countChatPromptTokens', () => {
  const encodings: Encoding[] = ['o200k_base', 'cl100k_base'];

  it.each(encodings)('an empty conversation is the 3 reply-priming tokens (%s)', (encoding) => {
    expect(countChatPromptTokens([], encoding)).toBe(3);
  });

  it.each(encodings)('follows 3/message + role + content + (1 + name) + 3 (%s)', (encoding) => {
    const c = (s: string) => countTextTokens(s, encoding);
    const system = 'You are a helpful assistant.';
    const user = 'Здравствуйте, мир! What is the capital of France?';
    const assistant = 'The capital of France is Paris.';
    const messages = [
      { role: 'system', content: system },
      { role: 'user', name: 'alice_smith', content: user },
      { role: 'assistant', content: assistant },
    ];
    const expected = 3 + (3 + c('system') + c(system)) + (3 + c('user') + c(user) + 1 + c('alice_smith')) + (3 + c('assistant') + c(assistant));
    expect(countChatPromptTokens(messages, encoding)).toBe(expected);
  });

  it('hand-computed totals (o200k_base)', () => {
    // "user", "system", "assistant" are 1 token each; "hello world" is 2.
    expect(countChatPromptTokens([{ role: 'user', content: 'hello world' }])).toBe(3 + 3 + 1 + 2);
    expect(
      countChatPromptTokens([
        { role: 'system', content: 'hello world' },
        { role: 'user', content: 'hello world', name: 'bob' },
      ]),
    ).toBe(3 + (3 + 1 + 2) + (3 + 1 + 2 + 1 + countTextTokens('bob')));
  });

  it('counts content given as text parts like the same string', () => {
    const asString = countChatPromptTokens([{ role: 'user', content: 'hello world, how are you' }]);
    const asParts = countChatPromptTokens([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'hello world,' },
          { type: 'text', text: ' how are you' },
        ],
      },
    ]);
    expect(asParts).toBe(asString);
  });

  it('counts a message with null content (assistant tool call) as framing + role', () => {
    expect(countChatPromptTokens([{ role: 'assistant', content: null }])).toBe(3 + 3 + 1);
  });

  it('skips non-object entries and ignores non-string roles and names', () => {
    const base = countChatPromptTokens([{ role: 'user', content: 'hi' }]);
    expect(countChatPromptTokens([null, 1, 'x', undefined, { role: 'user', content: 'hi' }, true])).toBe(base);
    // An object with no role still costs the message framing.
    expect(countChatPromptTokens([{ role: 'user', content: 'hi' }, { role: 5, name: 6 }])).toBe(base + 3);
  });

  it('depends on the encoding for non-Latin text', () => {
    const messages = [{ role: 'user', content: 'Здравствуйте, мир' }];
    expect(countChatPromptTokens(messages, 'cl100k_base') - countChatPromptTokens(messages, 'o200k_base')).toBe(9 - 3);
  });
});

describe('TokenCountCache', () => {
  /** What countTextTokens does on a miss: count, then offer the text to the cache. */
  const counted = (cache: TokenCountCache, text: string, tokens: number) => cache.get(text) ?? (cache.set(text, tokens), tokens);

  it('keeps a text from its second count on, and keeps texts still in use across generations', () => {
    // ~80 per entry (its characters + the entry overhead): ten entries fill a generation.
    const cache = new TokenCountCache(800);
    counted(cache, 'system prompt', 3);
    expect(cache.get('system prompt')).toBeUndefined(); // seen once: not kept
    counted(cache, 'system prompt', 3);
    expect(cache.get('system prompt')).toBe(3);
    expect(cache.get('other')).toBeUndefined();
    // Fill a generation with repeated texts: the prompt moves to the older one, a hit brings it back.
    for (let i = 0; i < 10; i++) for (let k = 0; k < 2; k++) counted(cache, `repeated text ${i}`, 4);
    expect(cache.get('system prompt')).toBe(3);
    for (let i = 10; i < 40; i++) for (let k = 0; k < 2; k++) counted(cache, `repeated text ${i}`, 4);
    expect(cache.get('repeated text 0')).toBeUndefined();
    expect(cache.size).toBeLessThanOrEqual(2 * 800);
  });

  it('never keeps texts seen only once, however many', () => {
    const cache = new TokenCountCache(1 << 20);
    for (let i = 0; i < 50_000; i++) counted(cache, `a user message of its own, number ${i}`, 9);
    expect(cache.size).toBe(0);
  });

  it('does not keep a text larger than a quarter of its budget', () => {
    const cache = new TokenCountCache(100);
    for (let k = 0; k < 3; k++) cache.set('x'.repeat(30), 1);
    expect(cache.get('x'.repeat(30))).toBeUndefined();
  });

  it('charges each entry its overhead, so a flood of tiny texts holds few entries', () => {
    const cache = new TokenCountCache(64 * 1024);
    for (let i = 0; i < 100_000; i++) for (let k = 0; k < 2; k++) counted(cache, `t${i}`, 1);
    // 64 KiB per generation at ≥ 64 per entry: ~1,000 per generation, not 100,000.
    expect(cache.entries).toBeLessThanOrEqual(2 * 1024);
  });

  it('keeps texts longer than V8 hashes in full, keyed by a seeded hash, and confirms a hit', () => {
    const cache = new TokenCountCache(1 << 20);
    const long = 'x'.repeat(100_000);
    counted(cache, long, 7);
    counted(cache, long, 7);
    expect(cache.get('x'.repeat(100_000))).toBe(7);
    // Same length, one character different: no hit (V8 alone would give both one hash).
    expect(cache.get('x'.repeat(99_999) + 'y')).toBeUndefined();
    expect(cache.size).toBe(100_000);
  });

  it('tells long texts of one length apart', () => {
    // Eight kept texts of one length that differ only at the end; a lookup of a ninth would
    // compare it with each, to the last character, were long texts keyed by themselves.
    const cache = new TokenCountCache(1 << 20);
    const prefix = 'y'.repeat(32_767);
    for (let i = 0; i < 8; i++) for (let k = 0; k < 2; k++) counted(cache, prefix + String.fromCharCode(65 + i), i);
    expect(cache.entries).toBe(8);
    for (let i = 0; i < 8; i++) expect(cache.get(prefix + String.fromCharCode(65 + i))).toBe(i);
    expect(cache.get(prefix + 'z')).toBeUndefined();
  });

  it('gives countTextTokens the same answers as counting afresh', () => {
    const texts = ['You are a helpful assistant.', 'Ünïcödé and 中文 text', 'x'.repeat(5000)];
    const first = texts.map((t) => countTextTokens(t));
    const again = texts.map((t) => countTextTokens(t));
    expect(again).toEqual(first);
    expect(countTextTokens(texts[0]!, 'cl100k_base')).toBe(6);
  });
});
