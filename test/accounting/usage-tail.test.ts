import { describe, expect, it } from 'vitest';
import { usageObjectFromTail, usageObjectOf } from '../../src/accounting/usage.js';
import { usageOf } from '../../src/operations/registry.js';

describe('usageObjectFromTail', () => {
  const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 4 } };

  it('reads the usage at the end of a completion without parsing the rest', () => {
    const body = JSON.stringify({ id: 'x', choices: [{ message: { content: 'a "usage": {"prompt_tokens": 999} b }{' } }], usage });
    expect(usageObjectFromTail(body)).toEqual({ usage });
    expect(usageOf('chat.completions', usageObjectFromTail(body))).toEqual({ prompt: 12, completion: 7, total: 19, cachedInput: 4 });
  });

  it('copes with whitespace, nested objects and braces inside strings', () => {
    const body = `{"choices":[],"usage" :  {"input_tokens": 3, "output_tokens": 2, "note": "}{\\"", "x": {"y": {}}}}`;
    expect(usageObjectFromTail(body)?.usage).toEqual({ input_tokens: 3, output_tokens: 2, note: '}{"', x: { y: {} } });
  });

  it('gives up (undefined) when there is no usage object to isolate', () => {
    expect(usageObjectFromTail('{"choices":[]}')).toBeUndefined();
    expect(usageObjectFromTail('{"usage": null}')).toBeUndefined();
    expect(usageObjectFromTail('{"usage": {"prompt_tokens": 1')).toBeUndefined();
  });
});

describe('usageObjectOf', () => {
  const usage = { prompt_tokens: 5, total_tokens: 5 };
  const vector = Array.from({ length: 3072 }, (_, i) => Math.sin(i) / 7);

  it('finds the usage at the end of a large answer from its last bytes', () => {
    const body = Buffer.from(JSON.stringify({ object: 'list', data: [{ embedding: vector }, { embedding: vector }], usage }));
    expect(body.length).toBeGreaterThan(100_000);
    expect(usageObjectOf(body)).toEqual({ usage });
  });

  it('looks through the whole answer when the usage is not near its end', () => {
    const body = Buffer.from(JSON.stringify({ usage, object: 'list', data: [{ embedding: vector }] }));
    expect(usageObjectOf(body)).toEqual({ usage });
    expect(usageObjectOf(Buffer.from(JSON.stringify({ data: [{ embedding: vector }] })))).toBeUndefined();
  });

  it('is not fooled by a multi-byte character cut at the start of the tail', () => {
    const text = 'é'.repeat(5000);
    const body = Buffer.from(JSON.stringify({ choices: [{ message: { content: text } }], usage }));
    expect(usageObjectOf(body)).toEqual({ usage });
  });
});
