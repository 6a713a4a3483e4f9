import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../../src/domain/json-depth.js';
import { ADMIN_TOKEN, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const nested = (levels: number, leaf: unknown = 'x'): unknown => {
  let value: unknown = leaf;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

describe('nestedDeeperThan', () => {
  it('tells a body nested past the bound, at any place, without recursing past it', () => {
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(nestedDeeperThan({ ok: [1, 2, { deep: JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) }] })).toBe(true);
    expect(nestedDeeperThan('text')).toBe(false);
  });
});

describe('hostile bodies get a catalogued 400, never a 500', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  beforeAll(async () => {
    gw = await startGateway();
    seeded = await seedBasic(gw);
    // Content logging walks the whole body: it must not be the weak spot.
    expect((await gw.admin('PATCH', '/gateways/gw1', { logContent: true })).status).toBe(200);
  });
  afterAll(() => gw.close());

  // 4,200 levels, as text: JSON.stringify itself would overflow this process's stack.
  const deep = '__DEEP__';
  const DEEP_TEXT = `${'[{"a":'.repeat(2100)}"x"${'}]'.repeat(2100)}`;
  const withDeep = (body: unknown) => JSON.stringify(body).replace('"__DEEP__"', DEEP_TEXT);
  const cases: Array<[string, string, unknown]> = [
    ['chat messages', '/openai/v1/chat/completions', { model: 'sim-chat', messages: [{ role: 'user', content: deep }] }],
    ['chat tools', '/openai/v1/chat/completions', { model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: deep } }] }],
    ['responses', '/openai/v1/responses', { model: 'sim-chat', input: [deep] }],
    ['embeddings', '/openai/v1/embeddings', { model: 'sim-chat', input: [deep] }],
    ['azure chat', '/openai/deployments/sim-chat/chat/completions?api-version=2024-10-21', { messages: deep }],
    ['anthropic content', '/anthropic/v1/messages', { model: 'sim-chat', max_tokens: 10, messages: [{ role: 'user', content: [deep] }] }],
  ];
  for (const [name, path, body] of cases) {
    it(`${name}: 400 invalid_request`, async () => {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.key}`, 'x-api-key': seeded.key, 'content-type': 'application/json' },
        body: withDeep(body),
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain('invalid_request');
      expect(text).toContain(`more than ${MAX_JSON_DEPTH} levels`);
    });
  }

  it('a deeply nested admin body (deployment options): 400 validation_failed', async () => {
    const res = await fetch(`${gw.url}/admin/v1/resources/r1/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: withDeep({ name: 'deep', provider: 'simulated', options: { x: deep } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('times outside any calendar, or a range backwards: 400, not 500', async () => {
    for (const query of ['from=9000000000000000', 'to=9000000000000000', 'from=2000&to=1000']) {
      for (const route of ['usage', 'logs']) {
        const res = await gw.admin('GET', `/gateways/gw1/${route}?${query}`);
        if (route === 'logs' && query === 'from=2000&to=1000') {
          expect(res.status).toBe(200); // an empty page: nothing is in an empty range
          continue;
        }
        expect({ route, query, status: res.status }).toEqual({ route, query, status: 400 });
        expect(res.body.error.code).toBe('validation_failed');
      }
    }
  });
});
