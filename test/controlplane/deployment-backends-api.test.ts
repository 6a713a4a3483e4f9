import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentBackendsView } from '../../src/controlplane/api-types.js';
import { expectStatus } from '../support/admin-helpers.js';
import { startGateway, type TestGateway } from '../support/harness.js';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

/** GET /admin/v1/resources/{r}/deployments/{d}/backends: each backend's breaker and this node's traffic. */
describe('the backends of a deployment in the admin API', () => {
  let gw: TestGateway;
  let client: OpenAI;
  let a: FakeUpstream;
  let b: FakeUpstream;
  let aMode: 'ok' | '429' = 'ok';

  const answer = (label: string, mode: () => string) => (req: { body?: { model?: string } }, res: ServerResponse) => {
    if (mode() === '429') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatCompletion(req.body?.model ?? 'm', `from ${label}`)));
  };
  const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  const backends = async (d: string, token?: string) =>
    expectStatus(await gw.admin('GET', `/resources/r1/deployments/${d}/backends`, undefined, token), 200) as DeploymentBackendsView;

  beforeAll(async () => {
    a = await startFakeUpstream(answer('a', () => aMode) as never);
    b = await startFakeUpstream(answer('b', () => 'ok') as never);
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    const key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const backend = (name: string, up: FakeUpstream, more: Record<string, unknown> = {}) => ({ name, upstreamUrl: `${up.url}/v1`, upstreamApiKey: `sk-${name}`, ...more });
    expectStatus(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: 'pool',
        provider: 'openai-compatible',
        // Listed out of priority order: the view lists them as they are tried.
        backends: [backend('b', b, { priority: 2, weight: 3 }), backend('a', a)],
        circuitBreaker: { failures: 3, intervalSeconds: 60 },
      }),
      201,
    );
    expectStatus(await gw.admin('POST', '/resources/r1/deployments', { name: 'single', provider: 'openai-compatible', upstreamUrl: `${b.url}/v1` }), 201);
    await gw.tollgate.snapshots.refresh();
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('lists every backend closed, with no traffic, before any request', async () => {
    expect((await backends('pool')).items).toEqual([
      { name: 'a', priority: 1, weight: 1, state: 'closed', openUntil: null, recentFailures: 0, requests: 0, share: 0 },
      { name: 'b', priority: 2, weight: 3, state: 'closed', openUntil: null, recentFailures: 0, requests: 0, share: 0 },
    ]);
  });

  it('shows a trip by Retry-After, the calls this node sent and their shares', async () => {
    aMode = '429';
    const before = Date.now();
    expect((await chat('pool')).choices[0]!.message.content).toBe('from b');
    aMode = 'ok';
    expect((await chat('pool')).choices[0]!.message.content).toBe('from b'); // a is tripped: straight to b
    const [ra, rb] = (await backends('pool')).items;
    expect(ra).toMatchObject({ name: 'a', state: 'open', recentFailures: 0, requests: 1 });
    const until = Date.parse(ra!.openUntil!);
    expect(until).toBeGreaterThanOrEqual(before + 30_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(ra!.share).toBeCloseTo(1 / 3);
    expect(rb).toMatchObject({ name: 'b', state: 'closed', openUntil: null, requests: 2 });
    expect(rb!.share).toBeCloseTo(2 / 3);
  });

  it('counts failures below the threshold as recent failures', async () => {
    const name = 'counted';
    expectStatus(
      await gw.admin('POST', '/resources/r1/deployments', {
        name,
        provider: 'openai-compatible',
        backends: [{ name: 'x', upstreamUrl: `${a.url}/v1`, upstreamApiKey: 'sk-x' }, { name: 'y', upstreamUrl: `${b.url}/v1`, upstreamApiKey: 'sk-y', priority: 2 }],
        circuitBreaker: { failures: 3, acceptRetryAfter: false },
      }),
      201,
    );
    await gw.tollgate.snapshots.refresh();
    aMode = '429';
    await chat(name);
    aMode = 'ok';
    expect((await backends(name)).items[0]).toMatchObject({ name: 'x', state: 'closed', recentFailures: 1, requests: 1, share: 0.5 });
  });

  it('answers one backend named after a one-upstream deployment, readable by a viewer', async () => {
    await chat('single');
    const viewer = (await gw.admin('POST', '/tokens', { name: 'watcher', role: 'viewer' })).body.token as string;
    expect((await backends('single', viewer)).items).toEqual([
      { name: 'single', priority: 1, weight: 1, state: 'closed', openUntil: null, recentFailures: 0, requests: 1, share: 1 },
    ]);
  });

  it('answers 404 for an unknown deployment', async () => {
    expect((await gw.admin('GET', '/resources/r1/deployments/nope/backends')).status).toBe(404);
  });
});
