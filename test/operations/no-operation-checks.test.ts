import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Ways shared code would ask which operation a request is. */
const ASKS = [
  /\boperation\s*[!=]==/,
  /[!=]==\s*['"](chat\.completions|completions|embeddings|responses|messages|messages\.count_tokens)['"]/,
  /switch\s*\([^)]*operation[^)]*\)/i,
  /Record<\s*(Exclude<\s*)?(Operation|OpenAIOperation|AnthropicOperation)\b/,
];

describe('operations are specs', () => {
  it('no code outside src/operations/ asks which operation it is', () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      const path = relative(SRC, file);
      if (path.startsWith('operations')) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (ASKS.some((ask) => ask.test(line))) found.push(`src/${path}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
