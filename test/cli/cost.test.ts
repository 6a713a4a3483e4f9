import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliOk, SLOW } from '../support/cli.js';
import { startGateway, type TestGateway } from '../support/harness.js';

/** Prices on deployments and budgets on limits from the CLI. */
describe('tollgate: --pricing and --budget', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    await gw.admin('POST', '/resources/r1/projects', { name: 'p1' });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('sets prices, from the catalog too, and removes them', SLOW, async () => {
    await runCliOk(gw.url, ['deployments', 'create', 'own', '--resource', 'r1', '--provider', 'simulated', '--pricing', 'eur:1.2/4.8/0.3']);
    expect((await gw.admin('GET', '/resources/r1/deployments/own')).body.pricing).toEqual({
      currency: 'EUR',
      inputPerMillion: '1.2',
      outputPerMillion: '4.8',
      cachedInputPerMillion: '0.3',
    });
    await runCliOk(gw.url, ['deployments', 'create', 'mini', '--resource', 'r1', '--provider', 'simulated', '--upstream-model', 'gpt-4o-mini', '--pricing', 'catalog']);
    expect((await gw.admin('GET', '/resources/r1/deployments/mini')).body.pricing).toMatchObject({ currency: 'USD', inputPerMillion: '0.15' });
    await runCliOk(gw.url, ['deployments', 'update', 'mini', '--resource', 'r1', '--pricing', 'none']);
    expect((await gw.admin('GET', '/resources/r1/deployments/mini')).body.pricing).toBeUndefined();
    const bad = await runCli(gw.url, ['deployments', 'update', 'own', '--resource', 'r1', '--pricing', '2.5']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--pricing must be CUR:input\/output/);
  });

  it('creates, lists, changes and removes a budget', SLOW, async () => {
    const created = JSON.parse(await runCliOk(gw.url, ['limits', 'create', '-g', 'gw1', '--project', 'p1', '--deployment', 'own', '--budget', '25.5 EUR/monthly', '--json']));
    expect(created.budget).toEqual({ amount: '25.5', currency: 'EUR', period: 'monthly' });
    expect(await runCliOk(gw.url, ['limits', 'list', '-g', 'gw1'])).toMatch(/25\.5 EUR\/monthly/);
    await runCliOk(gw.url, ['limits', 'update', created.id, '-g', 'gw1', '--budget', '30 EUR/weekly']);
    expect((await gw.admin('GET', `/gateways/gw1/limits/${created.id}`)).body.budget).toEqual({ amount: '30', currency: 'EUR', period: 'weekly' });
    // Without tokens, removing the budget leaves nothing to limit: refused.
    const empty = await runCli(gw.url, ['limits', 'update', created.id, '-g', 'gw1', '--budget', 'none']);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/a limit needs tokensPerMinute, tokenQuota, or both \(or a money budget\)/);
    await runCliOk(gw.url, ['limits', 'update', created.id, '-g', 'gw1', '--tpm', '1000', '--budget', 'none']);
    expect((await gw.admin('GET', `/gateways/gw1/limits/${created.id}`)).body).toMatchObject({ budget: null, tokensPerMinute: 1000 });
  });
});
