import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/usage/ledger.js';
import { runCliOk, SLOW } from '../support/cli.js';
import { ledgerKey, startGateway, type TestGateway } from '../support/harness.js';
import { parsePromText } from '../support/prom-text.js';

/**
 * Money budgets end to end: priced deployments, a budget that 64 concurrent clients cannot push
 * spend over (on the ledger), its 403, and the cost in the usage API, logs, limit status, metrics
 * and CLI agreeing with the ledger to the micro-unit.
 */

const PRICING = { currency: 'USD', inputPerMillion: '2.5', outputPerMillion: '10' };
/** 0.05 USD per day: about a hundred requests of this test's size. */
const BUDGET = { amount: '0.05', currency: 'USD', period: 'daily' };
const BUDGET_MICROS = 50_000;

describe('money budgets', () => {
  let gw: TestGateway;
  let keyA: string;
  let keyB: string;

  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  beforeAll(async () => {
    gw = await startGateway();
    ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
    ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'priced', provider: 'simulated', options: { completionTokens: 30 }, pricing: PRICING }), 'deployment');
    ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'free', provider: 'simulated' }), 'deployment');
    ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
    keyA = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'pa' }), 'project').keys.primary;
    keyB = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'pb' }), 'project').keys.primary;
  });

  afterAll(async () => {
    await gw?.close();
  });

  const client = (key: string) => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
  const ask = (key: string, model = 'priced', maxTokens = 40) =>
    client(key)
      .chat.completions.create({ model, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Say something short about budgets.' }] })
      .withResponse();

  async function ledger(): Promise<LedgerEntry[]> {
    await gw.tollgate.ledger!.flush();
    return gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 10_000 });
  }
  const spentOn = (entries: readonly LedgerEntry[], project?: string) =>
    entries.filter((e) => (project === undefined || e.project === project) && e.currency === 'USD').reduce((n, e) => n + (e.costMicros ?? 0), 0);

  it('refuses a budget over a deployment without prices, at configuration and on the request path', async () => {
    const refused = await gw.admin('POST', '/gateways/gw1/limits', { project: 'pb', deployment: 'free', budget: BUDGET });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/deployment "free" has no prices in USD/);

    // Project-wide: accepted, with a warning naming the unpriced deployment.
    const created = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'pb', budget: { amount: 1, currency: 'USD', period: 'monthly' } }), 'limit');
    expect(created.budget).toEqual({ amount: '1', currency: 'USD', period: 'monthly' });
    expect(created.warnings?.[0]).toMatch(/free/);
    await expect(ask(keyB, 'free')).rejects.toMatchObject({ status: 403, code: 'deployment_not_priced' });
    // A priced deployment under the same budget passes, and is counted.
    const { response } = await ask(keyB);
    expect(response.status).toBe(200);
    ok(await gw.admin('DELETE', `/gateways/gw1/limits/${created.id}`), 'delete');
  });

  it('64 concurrent clients never push spend over the budget, asserted on the ledger; then 403 budget_exceeded', async () => {
    const limit = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'pa', budget: BUDGET }), 'limit');
    expect(limit).toMatchObject({ tokensPerMinute: null, tokenQuota: null, budget: { amount: '0.05', currency: 'USD', period: 'daily' } });

    const refusals: Array<{ status: number; code: string; message: string; headers: Headers }> = [];
    let admitted = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        // Bounded: each client stops at its first refusal, or after 6 requests.
        for (let i = 0; i < 6; i++) {
          try {
            const { response } = await ask(keyA);
            expect(response.status).toBe(200);
            admitted++;
          } catch (err) {
            const e = err as InstanceType<typeof OpenAI.APIError>;
            refusals.push({ status: e.status!, code: String(e.code), message: e.message, headers: e.headers as unknown as Headers });
            return;
          }
        }
      }),
    );
    expect(admitted).toBeGreaterThan(0);
    expect(refusals.length).toBeGreaterThan(0);

    const entries = await ledger();
    const okEntries = entries.filter((e) => e.project === 'pa' && e.outcome === 'ok');
    expect(okEntries).toHaveLength(admitted);
    // Every answer is priced: prompt × 2.5 + completion × 10, rounded up, in USD.
    for (const e of okEntries) {
      expect(e.currency).toBe('USD');
      expect(e.costMicros).toBe(Math.ceil((e.promptTokens * 2_500_000 + e.completionTokens * 10_000_000) / 1_000_000));
    }
    // Budget refusals count as quota refusals (charts, limiter decisions), with their own code.
    const refusedRows = entries.filter((e) => e.project === 'pa' && e.errorCode === 'budget_exceeded');
    expect(refusedRows).toHaveLength(refusals.length);
    for (const e of refusedRows) expect(e).toMatchObject({ outcome: 'quota_exceeded', status: 403, totalTokens: 0 });
    expect(refusedRows.every((e) => !e.costMicros)).toBe(true);
    const spent = spentOn(entries, 'pa');
    expect(spent).toBeLessThanOrEqual(BUDGET_MICROS);
    // It was refused because the next worst case did not fit, not for lack of trying.
    const worstCase = Math.max(...okEntries.map((e) => Math.ceil((e.promptTokens * 2_500_000 + 40 * 10_000_000) / 1_000_000)));
    expect(spent).toBeGreaterThan(BUDGET_MICROS - 64 * worstCase);

    for (const r of refusals) {
      expect(r.status).toBe(403);
      expect(r.code).toBe('budget_exceeded');
      expect(r.message).toMatch(/The budget of 0\.050000 USD per day is spent for project "pa" on deployment "priced" \(its limit for all deployments, id lim_\w+\).* It resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z \(in /);
      const retryAfter = Number(r.headers.get('retry-after'));
      const dayEnd = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil((dayEnd - Date.now()) / 1000) + 5);
    }

    // Limit status: spent and remaining money, as settled (nothing in flight now).
    const status = ok(await gw.admin('GET', `/gateways/gw1/limits/${limit.id}/status`), 'status');
    expect(status.budget).toMatchObject({
      currency: 'USD',
      period: 'daily',
      limit: { micros: BUDGET_MICROS, amount: '0.050000' },
      spent: { micros: spent },
      remaining: { micros: BUDGET_MICROS - spent },
    });
  });

  it('a request whose worst case exceeds the whole budget can never fit', async () => {
    const limit = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'pb', deployment: 'priced', budget: { amount: '0.0001', currency: 'USD', period: 'hourly' } }), 'limit');
    const refused = await ask(keyB, 'priced', 1000).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(refused).toMatchObject({ status: 403, code: 'budget_exceeded' });
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toMatch(/more than the whole budget of 0\.000100 USD per hour .* can never fit/);
    expect((refused as InstanceType<typeof OpenAI.APIError>).headers?.get('x-should-retry')).toBe('false');
    ok(await gw.admin('DELETE', `/gateways/gw1/limits/${limit.id}`), 'delete');
  });

  it('reports cost in the usage API, the logs, the metrics and the CLI, agreeing with the ledger to the micro-unit', SLOW, async () => {
    const entries = await ledger();
    const total = spentOn(entries);
    const byProject = { pa: spentOn(entries, 'pa'), pb: spentOn(entries, 'pb') };
    expect(total).toBeGreaterThan(0);
    expect(byProject.pa + byProject.pb).toBe(total);

    const report = ok(await gw.admin('GET', '/gateways/gw1/usage?interval=minute&from=0'), 'usage');
    expect(report.totals.cost).toEqual({ USD: { micros: total, amount: (total / 1e6).toFixed(6) } });
    const pointSum = report.series[0].points.reduce((n: number, p: any) => n + (p.cost.USD?.micros ?? 0), 0);
    expect(pointSum).toBe(total);

    const grouped = ok(await gw.admin('GET', '/gateways/gw1/usage?interval=hour&from=0&groupBy=project'), 'usage by project');
    const perProject = Object.fromEntries(
      grouped.series.map((s: any) => [s.project, s.points.reduce((n: number, p: any) => n + (p.cost.USD?.micros ?? 0), 0)]),
    );
    expect(perProject).toEqual(byProject);
    const byDeployment = ok(await gw.admin('GET', '/gateways/gw1/usage?interval=day&from=0&groupBy=deployment'), 'usage by deployment');
    const free = byDeployment.series.find((s: any) => s.deployment === 'free');
    expect(free === undefined || free.points.every((p: any) => Object.keys(p.cost).length === 0)).toBe(true);

    const logs = ok(await gw.admin('GET', '/gateways/gw1/logs?limit=500'), 'logs');
    expect(logs.items.reduce((n: number, e: any) => n + (e.cost?.micros ?? 0), 0)).toBe(total);

    const metrics = parsePromText(await (await fetch(`${gw.url}/metrics`)).text()).filter((s) => s.name === 'tollgate_cost_total');
    for (const project of ['pa', 'pb'] as const) {
      const sample = metrics.find((s) => s.labels.project === project && s.labels.deployment === 'priced' && s.labels.currency === 'USD');
      expect(Math.round(sample!.value * 1e6)).toBe(byProject[project]);
    }

    const table = await runCliOk(gw.url, ['usage', '--gateway', 'gw1', '--from', '2000-01-01', '--interval', 'day']);
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/\bCOST\b/);
    expect(lines.at(-1)).toMatch(new RegExp(`TOTAL.*\\b${(total / 1e6).toFixed(6).replace('.', '\\.')} USD`));
  });
});
