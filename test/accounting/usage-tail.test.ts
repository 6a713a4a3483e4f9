import { describe, expect, it } from 'vitest';
import { usageObjectFromTail, usageOf } from '../../src/accounting/usage.js';

describe('usageObjectFromTail', () => {
  const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 4 } };

  it('reads the usage at the end of a completion without parsing the rest', () => {
    const body = JSON.stringify({ id: 'x', choices: [{ message: { content: 'a "usage": {"prompt_tokens": 999} b }{' } }], usage });
    expect(usageObjectFromTail(body)).toEqual({ usage });
    expect(usageOf('chat.completions', usageObjectFromTail(body))).toEqual({ prompt: 12, completion: 7, total: 19 });
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
