import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageOverview, UsageReport } from '../../src/controlplane/api-types.js';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'hello' }];

/** Who uses what (issue 21, point 3): usage across gateways, and per project, limits or not. */
describe('GET /admin/v1/usage: every gateway’s use', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let tokens = 0;

  beforeAll(async () => {
    gw = await startGateway();
    seeded = await seedBasic(gw, { completionTokens: 4 });
    // A second resource and gateway with two projects, one enabled, and no traffic.
    expectStatus(await gw.admin('POST', '/resources', { name: 'r2' }), 201);
    expectStatus(await gw.admin('POST', '/resources/r2/deployments', { name: 'sim', provider: 'simulated' }), 201);
    expectStatus(await gw.admin('POST', '/gateways', { name: 'gw2', resource: 'r2', instance: { mode: 'new' } }), 201);
    expectStatus(await gw.admin('POST', '/resources/r2/projects', { name: 'a' }), 201);
    expectStatus(await gw.admin('POST', '/resources/r2/projects', { name: 'b' }), 201);
    expectStatus(await gw.admin('DELETE', '/gateways/gw2/projects/b'), 200);

    // p1 has no limit: its usage counts all the same. p2 runs into a limit it can never fit.
    const p1 = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    for (let i = 0; i < 3; i++) tokens += (await p1.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 4 })).usage!.total_tokens;
    const p2 = expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 201) as { keys: { primary: string } };
    expectStatus(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p2', tokensPerMinute: 5 }), 201);
    const client2 = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: p2.keys.primary, maxRetries: 0 });
    await expect(client2.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 50 })).rejects.toMatchObject({ status: 429 });
    await gw.tollgate.ledger!.flush();
  });
  afterAll(() => gw.close());

  it('sums today per gateway: projects and enabled projects, requests by outcome, tokens, refusals', async () => {
    const body = expectStatus(await gw.admin('GET', '/usage'), 200) as UsageOverview;
    expect(Date.parse(body.from) % 86_400_000).toBe(0);
    const byName = new Map(body.gateways.map((g) => [g.name, g]));
    expect(byName.get('gw1')).toMatchObject({
      resource: 'r1',
      status: 'enabled',
      projects: 2,
      enabledProjects: 2,
      requests: { total: 4, ok: 3, never_fits: 1, rate_limited: 0, quota_exceeded: 0 },
      tokens: { total: tokens },
      refusals: 1,
    });
    expect(byName.get('gw2')).toMatchObject({ projects: 2, enabledProjects: 1, requests: { total: 0 }, tokens: { total: 0 }, refusals: 0 });
  });

  it('takes a range, and refuses one that ends before it starts', async () => {
    const past = expectStatus(await gw.admin('GET', '/usage?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z'), 200) as UsageOverview;
    expect(past.gateways.every((g) => g.requests.total === 0)).toBe(true);
    expectError(await gw.admin('GET', '/usage?from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/usage?bogus=1'), 400, 'validation_failed');
  });

  it('groups a gateway’s usage by project, the project without a limit included', async () => {
    const report = expectStatus(await gw.admin('GET', '/gateways/gw1/usage?groupBy=project'), 200) as UsageReport;
    const totals = Object.fromEntries(report.series.map((s) => [s.project, s.points.reduce((n, p) => n + p.tokens.total, 0)]));
    expect(totals).toEqual({ p1: tokens, p2: 0 });
  });
});
