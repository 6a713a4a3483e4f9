import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/harness.js';

/** Prices and budgets in the config file: applied, exported, and applied back as no change. */
describe('config file: pricing and budgets', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const doc = () => ({
    version: 1,
    resources: [
      {
        name: 'prod',
        deployments: [
          { name: 'gpt-4o-mini', provider: 'simulated', pricing: 'catalog' },
          { name: 'own', provider: 'simulated', pricing: { currency: 'EUR', inputPerMillion: 1.2, outputPerMillion: '4.80' } },
        ],
        projects: ['team'],
      },
    ],
    gateways: [
      {
        name: 'gw',
        resource: 'prod',
        projects: ['team'],
        limits: [
          { project: 'team', deployment: 'own', budget: { amount: '12.5', currency: 'EUR', period: 'monthly' } },
          { project: 'team', tokensPerMinute: 1000, budget: { amount: 3, currency: 'USD', period: 'weekly' } },
        ],
      },
    ],
  });

  it('applies prices (from the catalog too) and budgets; the export applies back as no change', async () => {
    const applied = await gw.admin('PUT', '/config', doc());
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const catalog = (await gw.admin('GET', '/resources/prod/deployments/gpt-4o-mini')).body;
    expect(catalog.pricing).toMatchObject({ currency: 'USD', inputPerMillion: '0.15', cachedInputPerMillion: '0.075', outputPerMillion: '0.6' });
    expect(catalog.pricing.source).toMatch(/^catalog gpt-4o-mini /);
    expect((await gw.admin('GET', '/resources/prod/deployments/own')).body.pricing).toEqual({ currency: 'EUR', inputPerMillion: '1.2', outputPerMillion: '4.8' });
    const limits = (await gw.admin('GET', '/gateways/gw/limits')).body.items as Array<{ deployment: string | null; budget: unknown }>;
    expect(limits.find((l) => l.deployment === 'own')?.budget).toEqual({ amount: '12.5', currency: 'EUR', period: 'monthly' });
    expect(limits.find((l) => l.deployment === null)?.budget).toEqual({ amount: '3', currency: 'USD', period: 'weekly' });

    expect((await gw.admin('PUT', '/config', doc())).body.changes).toEqual([]);
    const exported = (await gw.admin('GET', '/config')).body;
    expect(exported.gateways[0].limits).toContainEqual({ project: 'team', deployment: 'own', budget: { amount: '12.5', currency: 'EUR', period: 'monthly' } });
    expect((await gw.admin('PUT', '/config', exported)).body.changes).toEqual([]);

    // A budget removed in the file is removed.
    const without = doc();
    delete (without.gateways[0]!.limits[1] as { budget?: unknown }).budget;
    const changed = await gw.admin('PUT', '/config', without);
    expect(changed.body.changes.map((c: { action: string; target: string }) => c.action)).toEqual(['update']);
    expect(((await gw.admin('GET', '/gateways/gw/limits')).body.items as Array<{ deployment: string | null; budget: unknown }>).find((l) => l.deployment === null)?.budget).toBeNull();
  });

  it('refuses what cannot be priced or is not a price', async () => {
    const bad = doc();
    bad.resources[0]!.deployments[1]!.pricing = { currency: 'euro', inputPerMillion: 1, outputPerMillion: 1 } as never;
    const res = await gw.admin('PUT', '/config', bad);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/currency: must be an ISO 4217 currency code/);
    const unknown = await gw.admin('POST', '/resources/prod/deployments', { name: 'local', provider: 'simulated', upstreamModel: 'llama3', pricing: 'catalog' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/catalog has no prices for model "llama3"/);
  });
});
