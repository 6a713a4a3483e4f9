import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';
import { UI_TIMEOUT } from './browser.js';

const STEP_TIMEOUT = 60_000;
const messages = [{ role: 'user' as const, content: 'Tell me a long story.' }];

/**
 * The admin's questions answered, in Chromium (issue 21, points 1–4): why was this refused (log
 * details, request-id search, CSV), a small limit's warning, who uses what (per-project table,
 * gateway list columns, overview) and a deleted gateway's history (archived gateways).
 */
describe('console: refusals explained, usage per project and gateway, archived history', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const keys: Record<string, string> = {};
  let neverFitsId = '';

  const ok = <T = any>(res: { status: number; body: T }, what: string): T => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const shot = (name: string) => ui.screenshot(page, name);
  const client = (project: string) => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: keys[project]!, maxRetries: 0 });

  beforeAll(async () => {
    gw = await startGateway({ ledgerFlushMs: 20, ledgerRollupMs: 20 });
    ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
    // The simulated model writes 900 tokens unless bounded.
    ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-chat', provider: 'simulated', options: { completionTokens: 900 } }), 'deployment');
    ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
    for (const name of ['web', 'batch', 'tiny']) keys[name] = ok(await gw.admin('POST', '/resources/r1/projects', { name }), name).keys.primary;
    // tiny: 20 tokens a minute, less than any prompt and a useful answer.
    ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'tiny', tokensPerMinute: 20 }), 'limit tiny');
    browser = await ui.launchChromium();
    ({ context, page } = await ui.openPage(browser, { width: 1360, height: 900 }, pageErrors));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('warns, once a limit is saved, that it is below the completion reserved for requests without max_tokens', async () => {
    await page.getByRole('link', { name: 'gw1' }).click();
    await ui.gatewayTab(page, 'Token management');
    await page.getByRole('button', { name: '+ Add limit' }).click();
    const form = ui.dialog(page, 'Add limit');
    await form.getByLabel('Project').selectOption('batch');
    await form.getByLabel('Tokens per minute').fill('300');
    await form.getByRole('button', { name: 'Add limit' }).click();
    const warning = page.getByTestId('limit-warnings');
    await warning.getByText(/tokensPerMinute 300 is below the 1024 completion tokens reserved for a request without max_tokens/).waitFor();
    await shot('answers-1-limit-warning');
    await page.getByRole('dialog').getByRole('button', { name: 'OK' }).click();
    await ui.row(page, 'Token limits', 'batch').waitFor();
  }, STEP_TIMEOUT);

  it('opens a refused request into its details: the limit, its scope and kind, what was reserved and left, the message', async () => {
    // web: no limit; batch: capped to what 300 tokens a minute hold; tiny: never fits.
    await client('web').chat.completions.create({ model: 'sim-chat', messages, max_tokens: 30 });
    const capped = await client('batch').chat.completions.create({ model: 'sim-chat', messages }).withResponse();
    expect(Number(capped.response.headers.get('x-tollgate-max-tokens-capped'))).toBeLessThan(300);
    const refused = (await client('tiny').chat.completions.create({ model: 'sim-chat', messages }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(refused.status).toBe(429);
    neverFitsId = refused.requestID!;
    await expect.poll(async () => (await gw.admin('GET', '/gateways/gw1/logs')).body.items.length, { timeout: UI_TIMEOUT }).toBe(3);

    await ui.gatewayTab(page, 'Logs');
    const log = page.getByRole('table', { name: 'Request log' });
    await log.locator('tbody tr').nth(2).waitFor();
    // Operation and stream columns; the time range filter.
    await log.getByRole('columnheader', { name: 'Operation' }).waitFor();
    await log.getByRole('columnheader', { name: 'Stream' }).waitFor();
    await page.getByLabel('Time range').selectOption('1h');
    await page.getByText('3 requests shown').waitFor();

    await page.getByLabel('Request id').fill(neverFitsId);
    await page.getByLabel('Request id').press('Enter');
    await page.getByText('1 request shown').waitFor();
    await page.getByRole('button', { name: `Details of request ${neverFitsId}` }).click();
    const details = page.getByTestId('log-details');
    await details.getByText('Refused by limit').waitFor();
    await details.getByText(/tokens per minute: 20, project-wide/).waitFor();
    await details.getByText(/no: the request is larger than the whole limit/).waitFor();
    await details.getByText(/can never fit/).waitFor();
    await shot('answers-2-log-details');

    // CSV export of what is shown.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    const [header, line] = csv.trim().split('\r\n');
    expect(header).toContain('requestId');
    expect(header).toContain('limitId');
    expect(line).toContain(neverFitsId);
    expect(line).toContain('never_fits');

    // Follow mode: a new request shows without a click.
    await page.getByLabel('Request id').fill('');
    await page.getByLabel('Request id').press('Enter');
    await page.getByText('3 requests shown').waitFor();
    await page.getByLabel('Follow').check();
    await client('web').chat.completions.create({ model: 'sim-chat', messages, max_tokens: 5 });
    await page.getByText('4 requests shown · following').waitFor({ timeout: 15_000 });
    await page.getByLabel('Follow').uncheck();
  }, STEP_TIMEOUT);

  it('shows who uses what: a table per project, those without a limit included', async () => {
    await ui.gatewayTab(page, 'Usage');
    const table = page.getByRole('table', { name: 'Usage per project' });
    await table.waitFor();
    const web = ui.row(page, 'Usage per project', 'web');
    await web.getByRole('cell', { name: 'none', exact: true }).waitFor();
    expect(Number((await web.locator('td').nth(2).textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    const tiny = ui.row(page, 'Usage per project', 'tiny');
    expect(await tiny.locator('td').nth(5).textContent()).toBe('1'); // never fit
    await shot('answers-3-usage-per-project');
  }, STEP_TIMEOUT);

  it('lists gateways with enabled projects, tokens and refusals today, and an overview across gateways', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'AI Gateway' }).click();
    const gateway = ui.row(page, 'Gateways', 'gw1');
    await gateway.getByText('3 of 3').waitFor();
    expect(await gateway.locator('td').nth(6).textContent()).toBe('1'); // refusals today
    await shot('answers-4-gateway-list-usage');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const row = ui.row(page, 'Usage per gateway', 'gw1');
    await row.getByText('3 of 3').waitFor();
    expect(await row.locator('td').nth(4).textContent()).toBe('4'); // requests
    await shot('answers-5-overview');
  }, STEP_TIMEOUT);

  it('keeps a deleted gateway’s history among the archived gateways', async () => {
    for (const p of ['web', 'batch', 'tiny']) ok(await gw.admin('DELETE', `/gateways/gw1/projects/${p}`), `disable ${p}`);
    expect((await gw.admin('DELETE', '/gateways/gw1')).status).toBe(204);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'AI Gateway' }).click();
    await page.getByRole('link', { name: 'archived gateways' }).click();
    await page.getByRole('heading', { name: 'Archived gateways', level: 1 }).waitFor();
    await shot('answers-6-archived-gateways');
    await ui.row(page, 'Archived gateways', 'gw1').getByRole('link', { name: 'gw1' }).click();
    await page.getByRole('heading', { name: 'gw1 (deleted)' }).waitFor();
    const totals = page.getByRole('definition').first();
    await expect.poll(async () => (await totals.textContent())?.replace(/,/g, ''), { timeout: UI_TIMEOUT }).not.toBe('0');
    await page.getByText('4 requests shown').waitFor();
    await shot('answers-7-archived-gateway-history');
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);
});
