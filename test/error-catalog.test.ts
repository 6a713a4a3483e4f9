import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../src/errors.js';

describe('error catalog', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

  it('documents every code with its status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOG)) {
      expect(doc, `docs/errors.md must document ${code}`).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(ERROR_CATALOG)).toContain(code);
  });
});
