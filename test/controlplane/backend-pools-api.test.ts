import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/harness.js';
import { expectError, expectStatus } from '../support/admin-helpers.js';

const backend = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  upstreamUrl: `http://127.0.0.1:9/${name}/v1`,
  upstreamApiKey: `sk-secret-${name}`,
  ...more,
});

/** The admin API and the config file on deployments with backends (docs/backends.md). */
describe('backend pools in the admin API and the config file', () => {
  let gw: TestGateway;
  const create = (body: Record<string, unknown>) => gw.admin('POST', '/resources/r1/deployments', { provider: 'openai-compatible', ...body });
  /** The field a validation error names. */
  const fieldOf = (res: { body: { error?: { param?: string } } }) => res.body.error?.param;

  beforeAll(async () => {
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
  });
  afterAll(() => gw.close());

  it('creates a pool with defaults; keys are sealed and never returned, credentials in URLs redacted', async () => {
    const res = await create({
      name: 'pooled',
      backends: [backend('east'), backend('west', { priority: 2, weight: 3, upstreamUrl: 'http://user:pw@127.0.0.1:9/v1?key=k1' })],
      retry: { attempts: 2 },
      circuitBreaker: { failures: 3, tripSeconds: 10 },
    });
    const view = expectStatus(res, 201) as Record<string, unknown>;
    expect(view.backends).toEqual([
      { name: 'east', provider: null, upstreamUrl: 'http://127.0.0.1:9/east/v1', upstreamModel: null, hasUpstreamApiKey: true, apiVersion: null, priority: 1, weight: 1 },
      { name: 'west', provider: null, upstreamUrl: 'http://***:***@127.0.0.1:9/v1?key=***', upstreamModel: null, hasUpstreamApiKey: true, apiVersion: null, priority: 2, weight: 3 },
    ]);
    expect(view).toMatchObject({ retry: { attempts: 2 }, circuitBreaker: { failures: 3, tripSeconds: 10 }, upstreamUrl: null });
    const text = JSON.stringify([view, (await gw.admin('GET', '/resources/r1/deployments/pooled')).body, (await gw.admin('GET', '/audit')).body]);
    expect(text).not.toContain('sk-secret');
    expect(text).not.toContain(':pw@');
    expect(text).not.toContain('key=k1');
  });

  it('keeps backend keys and sealed URLs when a view is given back, and drops the pool with backends: null', async () => {
    const shown = (await gw.admin('GET', '/resources/r1/deployments/pooled')).body;
    const again = expectStatus(
      await gw.admin('PATCH', '/resources/r1/deployments/pooled', {
        backends: shown.backends.map(({ hasUpstreamApiKey: _h, ...b }: Record<string, unknown>) => ({ ...b, weight: 5 })),
      }),
      200,
    ) as { backends: { hasUpstreamApiKey: boolean; weight: number; upstreamUrl: string }[] };
    expect(again.backends.map((b) => [b.hasUpstreamApiKey, b.weight])).toEqual([
      [true, 5],
      [true, 5],
    ]);
    const single = expectStatus(
      await gw.admin('PATCH', '/resources/r1/deployments/pooled', { backends: null, upstreamUrl: 'http://127.0.0.1:9/v1' }),
      200,
    ) as Record<string, unknown>;
    expect(single).not.toHaveProperty('backends');
  });

  it('takes 1 to 30 backends', async () => {
    expect(fieldOf(expectErrorRes(await create({ name: 'none', backends: [] })))).toBe('backends');
    const many = Array.from({ length: 31 }, (_, i) => backend(`b${i}`));
    expect(fieldOf(expectErrorRes(await create({ name: 'many', backends: many })))).toBe('backends');
    expectStatus(await create({ name: 'thirty', backends: many.slice(0, 30) }), 201);
  });

  it('refuses duplicate names, a provider of another API family, a backend its provider refuses, and an upstreamUrl beside backends', async () => {
    expect(fieldOf(expectErrorRes(await create({ name: 'dup', backends: [backend('a'), backend('a')] })))).toBe('backends[1].name');
    expect(fieldOf(expectErrorRes(await create({ name: 'family', backends: [backend('a'), backend('b', { provider: 'anthropic' })] })))).toBe(
      'backends[1].provider',
    );
    // openai needs a key: the backend's provider judges the backend's settings.
    expect(fieldOf(expectErrorRes(await create({ name: 'nokey', backends: [backend('a', { provider: 'openai', upstreamApiKey: null })] })))).toBe(
      'backends[0].upstreamApiKey',
    );
    expect(fieldOf(expectErrorRes(await create({ name: 'both', upstreamUrl: 'http://127.0.0.1:9/v1', backends: [backend('a')] })))).toBe('upstreamUrl');
    expect(fieldOf(expectErrorRes(await create({ name: 'badretry', backends: [backend('a')], retry: { attempts: 6 } })))).toBe('retry.attempts');
    // Same family, another provider: Azure OpenAI behind an OpenAI-compatible deployment.
    expectStatus(await create({ name: 'mixed', backends: [backend('a'), backend('az', { provider: 'azure-openai', apiVersion: '2024-06-01' })] }), 201);
  });

  it('carries pools in the config file: export then apply changes nothing, and a changed weight is one update', async () => {
    const exported = (await gw.admin('GET', '/config')).body;
    const pooled = exported.resources[0].deployments.find((d: { name: string }) => d.name === 'mixed');
    expect(pooled.backends).toEqual([
      { name: 'a', upstreamUrl: 'http://127.0.0.1:9/a/v1', priority: 1, weight: 1 },
      { name: 'az', provider: 'azure-openai', upstreamUrl: 'http://127.0.0.1:9/az/v1', apiVersion: '2024-06-01', priority: 1, weight: 1 },
    ]);
    expect(JSON.stringify(exported)).not.toContain('sk-secret');
    expect(expectStatus(await gw.admin('PUT', '/config', exported), 200)).toMatchObject({ changes: [] });

    pooled.backends[1].weight = 4;
    pooled.circuitBreaker = { tripSeconds: 5 };
    const res = expectStatus(await gw.admin('PUT', '/config', exported), 200) as { changes: { action: string; target: string; fields?: string[] }[] };
    expect(res.changes).toEqual([expect.objectContaining({ action: 'update', target: 'resources/r1/deployments/mixed', fields: ['backends', 'circuitBreaker'] })]);
    const view = (await gw.admin('GET', '/resources/r1/deployments/mixed')).body;
    expect(view.backends.map((b: { weight: number; hasUpstreamApiKey: boolean }) => [b.weight, b.hasUpstreamApiKey])).toEqual([
      [1, true],
      [4, true],
    ]);
    expect(expectStatus(await gw.admin('PUT', '/config', (await gw.admin('GET', '/config')).body), 200)).toMatchObject({ changes: [] });
  });

  it('creates a pool from a config file and reports its problems by backend', async () => {
    const doc = (await gw.admin('GET', '/config')).body;
    doc.resources[0].deployments.push({ name: 'from-file', provider: 'openai-compatible', backends: [backend('x'), backend('x')] });
    const bad = await gw.admin('PUT', '/config', doc);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('backends[1].name');
    doc.resources[0].deployments.at(-1).backends[1].name = 'y';
    expectStatus(await gw.admin('PUT', '/config', doc), 200);
    expect((await gw.admin('GET', '/resources/r1/deployments/from-file')).body.backends).toHaveLength(2);
  });
});

function expectErrorRes<T extends { status: number; body: any }>(res: T): T {
  expectError(res, 400, 'validation_failed');
  return res;
}
