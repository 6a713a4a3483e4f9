import type { ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { startGateway, type TestGateway } from '../support/harness.js';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { parsePromText, type Sample } from '../support/prom-text.js';

/** tollgate_backend_requests_total{deployment,backend,outcome} and tollgate_backend_state{deployment,backend} on /metrics. */
describe('backend metrics', () => {
  let gw: TestGateway;
  let client: OpenAI;
  let a: FakeUpstream;
  let b: FakeUpstream;

  const answer = (label: string, fails: () => boolean) => (req: { body?: { model?: string } }, res: ServerResponse) => {
    if (fails()) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: 'rate_limited' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(chatCompletion(req.body?.model ?? 'm', `from ${label}`)));
  };
  const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  async function scrape(): Promise<Sample[]> {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    return parsePromText(await res.text());
  }
  const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  beforeAll(async () => {
    a = await startFakeUpstream(answer('a', () => true) as never);
    b = await startFakeUpstream(answer('b', () => false) as never);
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    const key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    expectStatus(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: 'pool',
        provider: 'openai-compatible',
        backends: [
          { name: 'a', upstreamUrl: `${a.url}/v1`, upstreamApiKey: 'sk-a' },
          { name: 'b', upstreamUrl: `${b.url}/v1`, upstreamApiKey: 'sk-b', priority: 2 },
        ],
      }),
      201,
    );
    // One backend, answering 429 (not a trip: 100 failures needed): its requests end in error.
    expectStatus(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: 'lone',
        provider: 'openai-compatible',
        backends: [{ name: 'only', upstreamUrl: `${a.url}/v1`, upstreamApiKey: 'sk-x' }],
        circuitBreaker: { failures: 100, acceptRetryAfter: false },
      }),
      201,
    );
    await gw.tollgate.snapshots.refresh();
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('shows every served backend closed before any request', async () => {
    const samples = await scrape();
    expect(value(samples, 'tollgate_backend_state', { deployment: 'pool', backend: 'a' })).toBe(0);
    expect(value(samples, 'tollgate_backend_state', { deployment: 'pool', backend: 'b' })).toBe(0);
  });

  it('counts ok, failed_over, error and tripped_skip calls, and shows a tripped backend open', async () => {
    await chat('pool'); // a: 429 with Retry-After → failed over to b, a tripped
    await chat('pool'); // a skipped (tripped) → b
    await expect(chat('lone')).rejects.toMatchObject({ status: 429 }); // the only backend fails: error
    const samples = await scrape();
    const requests = (backend: string, outcome: string, deployment = 'pool') =>
      value(samples, 'tollgate_backend_requests_total', { deployment, backend, outcome }) ?? 0;
    expect(requests('a', 'failed_over')).toBe(1);
    expect(requests('a', 'tripped_skip')).toBe(1);
    expect(requests('a', 'ok')).toBe(0);
    expect(requests('b', 'ok')).toBe(2);
    expect(requests('only', 'error', 'lone')).toBe(1);
    expect(value(samples, 'tollgate_backend_state', { deployment: 'pool', backend: 'a' })).toBe(2);
    expect(value(samples, 'tollgate_backend_state', { deployment: 'pool', backend: 'b' })).toBe(0);
    // Counts are cumulative: a second scrape shows the same.
    expect(value(await scrape(), 'tollgate_backend_requests_total', { deployment: 'pool', backend: 'b', outcome: 'ok' })).toBe(2);
  });
});
