import OpenAI from 'openai';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startGateway, type TestGateway } from '../support/harness.js';

/**
 * Prices per backend of a pool: each answer is priced at the backend that answered it, a budget
 * reserves at the dearest backend's prices, and a pool with an unpriced backend under a budget
 * is refused, never let through uncounted.
 */
describe('pricing per backend of a pool', () => {
  let gw: TestGateway;
  let cheap: FakeUpstream;
  let dear: FakeUpstream;
  let cheapFails = false;
  let client: OpenAI;
  // Usage with a cached part: 1000 prompt tokens, 400 read from the cache, 100 completion.
  const usage = { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100, prompt_tokens_details: { cached_tokens: 400 } };

  beforeAll(async () => {
    cheap = await startFakeUpstream((req, res: ServerResponse) => {
      if (cheapFails) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'busy', type: 'server_error', code: null } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletion(req.body?.model ?? 'm', 'cheap', usage)));
    });
    dear = await startFakeUpstream((req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletion(req.body?.model ?? 'm', 'dear', usage)));
    });
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    const key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const created = await gw.admin('POST', '/resources/r1/deployments', {
      name: 'pool',
      provider: 'openai-compatible',
      // The deployment's prices; the second backend (spill-over) has its own, dearer ones.
      pricing: { currency: 'USD', inputPerMillion: '1', cachedInputPerMillion: '0.5', outputPerMillion: '4' },
      backends: [
        { name: 'cheap', upstreamUrl: `${cheap.url}/v1`, priority: 1 },
        { name: 'dear', upstreamUrl: `${dear.url}/v1`, priority: 2, pricing: { currency: 'USD', inputPerMillion: '3', outputPerMillion: '12' } },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.backends[1].pricing).toEqual({ currency: 'USD', inputPerMillion: '3', outputPerMillion: '12' });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([cheap?.close(), dear?.close()]);
  });

  async function lastLog(): Promise<{ backend: string | null; cost: { micros: number; currency: string } | null }> {
    await gw.tollgate.ledger!.flush();
    return (await gw.admin('GET', '/gateways/gw1/logs?limit=1')).body.items[0];
  }

  it('prices each answer at the backend that answered it', async () => {
    await client.chat.completions.create({ model: 'pool', messages: [{ role: 'user', content: 'hi' }] });
    // cheap: 600 × 1 + 400 × 0.5 + 100 × 4 = 1200 micro-units.
    expect(await lastLog()).toMatchObject({ backend: 'cheap', cost: { micros: 1200, currency: 'USD' } });

    cheapFails = true;
    await client.chat.completions.create({ model: 'pool', messages: [{ role: 'user', content: 'hi' }] });
    // dear (no cached price of its own: its input price): 1000 × 3 + 100 × 12 = 4200.
    expect(await lastLog()).toMatchObject({ backend: 'dear', cost: { micros: 4200, currency: 'USD' } });
    cheapFails = false;
  });

  it('reserves a budget at the dearest backend, and refuses a pool with an unpriced backend', async () => {
    // 10 prompt tokens or so + 1000 completion: at the dear backend's 12/M, 0.012 USD: more than 0.01.
    const limit = await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', deployment: 'pool', budget: { amount: '0.01', currency: 'USD', period: 'daily' } });
    expect(limit.status).toBe(201);
    await expect(client.chat.completions.create({ model: 'pool', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 403,
      code: 'budget_exceeded',
    });
    // At the cheap backend's prices it would have fitted (1000 × 4/M = 0.004): the dearest rules.
    const fits = await client.chat.completions.create({ model: 'pool', max_tokens: 500, messages: [{ role: 'user', content: 'hi' }] });
    expect(fits.choices[0]?.message.content).toBe('cheap');

    // A backend without prices (the deployment has none either now): refused, not uncounted.
    const update = await gw.admin('PATCH', '/resources/r1/deployments/pool', { pricing: null });
    expect(update.status).toBe(200);
    await gw.tollgate.snapshots.refresh();
    await expect(client.chat.completions.create({ model: 'pool', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 403,
      code: 'deployment_not_priced',
    });
  });
});
