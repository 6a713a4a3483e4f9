import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, ledgerKey, startGateway, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';

/**
 * Cost on the console's usage page, in real Chromium: a cost card per currency and a per-project
 * table, both equal to the ledger's sums to the micro-unit.
 */

const STEP_TIMEOUT = 60_000;

describe('cost in the console', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const keys: Record<string, string> = {};

  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  beforeAll(async () => {
    gw = await startGateway();
    ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
    ok(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: 'priced',
        provider: 'simulated',
        options: { completionTokens: 40 },
        pricing: { currency: 'USD', inputPerMillion: '3', cachedInputPerMillion: '0.3', outputPerMillion: '15' },
      }),
      'deployment',
    );
    ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
    for (const name of ['alpha', 'beta']) keys[name] = ok(await gw.admin('POST', '/resources/r1/projects', { name }), 'project').keys.primary;
    // alpha spends more than beta.
    for (const [project, n] of [['alpha', 5], ['beta', 2]] as const) {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: { 'api-key': keys[project]!, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'priced', messages: [{ role: 'user', content: `request ${i} of ${project}` }] }),
        });
        expect(res.status).toBe(200);
        await res.text();
      }
    }
    await gw.tollgate.ledger!.flush();
    browser = await ui.launchChromium();
    ({ context, page } = await ui.openPage(browser, { width: 1280, height: 1000 }, pageErrors));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('shows a cost card and a per-project table equal to the ledger to the micro-unit', async () => {
    const entries = await gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 1000 });
    const spent = (project?: string) => entries.filter((e) => project === undefined || e.project === project).reduce((n, e) => n + (e.costMicros ?? 0), 0);
    const amount = (micros: number) => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
    expect(spent()).toBeGreaterThan(0);
    expect(spent('alpha') + spent('beta')).toBe(spent());

    await page.goto(`${gw.url}/console/gateways/gw1`);
    await page.getByRole('heading', { name: 'gw1', level: 1 }).waitFor();
    await ui.gatewayTab(page, 'Usage');
    const card = page.locator('dl.totals > div').filter({ has: page.getByText('Cost (USD)', { exact: true }) }).locator('dd');
    await card.waitFor();
    expect(await card.textContent()).toBe(amount(spent()));

    for (const project of ['alpha', 'beta']) {
      const row = ui.row(page, 'Usage per project', project);
      await row.waitFor();
      // Limit, tokens, requests, 429s, 403s, never fit, cost.
      const cells = await row.locator('td').allTextContents();
      expect(cells[2]).toBe(String(entries.filter((e) => e.project === project).length));
      expect(cells[6]).toBe(`${amount(spent(project))} USD`);
    }
    // Busiest (here also dearest) first.
    const firstRow = page.getByRole('table', { name: 'Usage per project' }).getByRole('row').nth(1);
    expect(await firstRow.getByRole('rowheader').textContent()).toBe('alpha');
    await ui.screenshot(page, 'cost-usage');
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);

  it('adds a budget through the limit dialog and shows what is spent of it', async () => {
    await ui.gatewayTab(page, 'Token management');
    await page.getByRole('button', { name: '+ Add limit' }).click();
    const form = ui.dialog(page, 'Add limit');
    await form.getByLabel('Project').selectOption('beta');
    await form.getByLabel('Deployment').selectOption('priced');
    await form.getByLabel('Budget', { exact: true }).fill('0.5');
    await form.getByLabel('Currency').fill('usd');
    await form.getByLabel('Budget period').selectOption('daily');
    await form.getByRole('button', { name: 'Add limit' }).click();
    await form.waitFor({ state: 'detached' });
    const limitRow = ui.row(page, 'Token limits', 'beta');
    await limitRow.getByText('0.5 USD daily').waitFor();
    const limit = ((await gw.admin('GET', '/gateways/gw1/limits')).body.items as Array<{ id: string; project: string; budget: unknown }>).find((l) => l.project === 'beta')!;
    expect(limit.budget).toEqual({ amount: '0.5', currency: 'USD', period: 'daily' });

    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'api-key': keys.beta!, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'priced', max_tokens: 50, messages: [{ role: 'user', content: `budgeted ${i}` }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    const status = (await gw.admin('GET', `/gateways/gw1/limits/${limit.id}/status`)).body;
    expect(status.budget.spent.micros).toBeGreaterThan(0);
    const meter = limitRow.getByRole('meter', { name: 'Budget spent, beta on priced' });
    await expect
      .poll(async () => meter.getAttribute('aria-valuetext'), { timeout: 15_000 })
      .toBe(`${status.budget.spent.amount} USD / 0.500000 USD used, ${status.budget.remaining.amount} USD left`);
    await ui.screenshot(page, 'cost-budget-limit');
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);

  it("sets a deployment's prices in the deployment dialog, and takes the catalog's", async () => {
    await page.goto(`${gw.url}/console/resources/r1`);
    await page.getByRole('heading', { name: 'r1', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Add deployment' }).click();
    let form = ui.dialog(page, 'Add deployment');
    await form.getByLabel('Name', { exact: true }).fill('claude');
    await form.getByLabel('Provider').selectOption('simulated');
    await form.getByLabel('Price currency').fill('eur');
    await form.getByLabel('Input price', { exact: true }).fill('3');
    await form.getByLabel('Output price', { exact: true }).fill('15');
    await form.getByLabel('Cached input price').fill('0.3');
    await form.getByLabel('Cache write price').fill('3.75');
    await ui.screenshot(page, 'cost-deployment-prices');
    await form.getByRole('button', { name: 'Add deployment' }).click();
    await form.waitFor({ state: 'detached' });
    expect((await gw.admin('GET', '/resources/r1/deployments/claude')).body.pricing).toEqual({
      currency: 'EUR',
      inputPerMillion: '3',
      outputPerMillion: '15',
      cachedInputPerMillion: '0.3',
      cacheWritePerMillion: '3.75',
    });

    await page.getByRole('button', { name: 'Add deployment' }).click();
    form = ui.dialog(page, 'Add deployment');
    await form.getByLabel('Name', { exact: true }).fill('gpt-4o-mini');
    await form.getByLabel('Provider').selectOption('simulated');
    await form.getByLabel('Take the prices from the built-in catalog (by the model sent upstream)').check();
    await form.getByRole('button', { name: 'Add deployment' }).click();
    await form.waitFor({ state: 'detached' });
    expect((await gw.admin('GET', '/resources/r1/deployments/gpt-4o-mini')).body.pricing).toMatchObject({ currency: 'USD', outputPerMillion: '0.6' });
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);
});
