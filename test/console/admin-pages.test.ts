import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';

/**
 * The rest of the admin surface in real Chromium, as an admin clicks it: instances (create,
 * delete), nodes, admin tokens (create with a role and resources, the secret once, revoke), the
 * audit log with old → new values, deleting a gateway that still has enabled projects in one
 * step, the API reference link, success toasts, focus back on the opener after a dialog, times
 * with their zone, and dark mode. Steps share one page, in order; screenshots in
 * test-artifacts/console/admin-*.png.
 */

const STEP_TIMEOUT = 60_000;

describe('admin pages of the console in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const ok = <T = any>(res: { status: number; body: T }, what: string): T => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const shot = (name: string) => ui.screenshot(page, `admin-${name}`);
  const nav = async (label: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  };
  const toast = () => page.getByRole('status').filter({ has: page.locator('.toast') });
  // Evaluated in the page (a string: these tests compile without the DOM's types).
  const focusedText = () => page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''");

  beforeAll(async () => {
    gw = await startGateway();
    ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
    ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-chat', provider: 'simulated' }), 'deployment');
    ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
    ok(await gw.admin('POST', '/resources/r1/projects', { name: 'web' }), 'project web');
    ok(await gw.admin('POST', '/resources/r1/projects', { name: 'batch' }), 'project batch');
    ok(await gw.admin('POST', '/instances', { name: 'spare' }), 'instance');
    ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'web', tokensPerMinute: 5000 }), 'limit');
    browser = await ui.launchChromium();
    // A zone that is not UTC, so a time that names its zone is visibly not the server's UTC.
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(ui.UI_TIMEOUT);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('links the API reference, which needs no token', async () => {
    const link = page.getByRole('link', { name: 'API reference' });
    expect(await link.getAttribute('href')).toBe('/admin/v1/openapi.json');
    const res = await fetch(`${gw.url}/admin/v1/openapi.json`);
    expect(((await res.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('lists instances, creates one with a toast and focus back on the button, and deletes a free one', async () => {
    await nav('Instances', 'Instances');
    await ui.row(page, 'Instances', 'gw1').getByText('Delete gateway gw1 first').waitFor();
    await shot('01-instances');

    const create = page.getByRole('button', { name: 'Create instance' });
    await create.click();
    const dialog = ui.dialog(page, 'Create instance');
    await dialog.getByLabel('Name').fill('pool-2');
    await dialog.getByRole('button', { name: 'Create instance' }).click();
    await toast().getByText('Instance pool-2 created.').waitFor();
    await ui.row(page, 'Instances', 'pool-2').waitFor();
    await expect.poll(focusedText).toBe('Create instance');

    // Cancel gives focus back too.
    await ui.row(page, 'Instances', 'spare').getByRole('button', { name: 'Delete instance spare' }).click();
    await ui.dialog(page, 'Delete instance spare?').getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(focusedText).toBe('Delete');

    await ui.row(page, 'Instances', 'spare').getByRole('button', { name: 'Delete instance spare' }).click();
    await ui.dialog(page, 'Delete instance spare?').getByRole('button', { name: 'Delete instance' }).click();
    await toast().getByText('Instance spare deleted.').waitFor();
    await ui.row(page, 'Instances', 'spare').waitFor({ state: 'detached' });
    expect((ok(await gw.admin('GET', '/instances'), 'instances') as { items: { name: string }[] }).items.map((i) => i.name)).not.toContain('spare');
  }, STEP_TIMEOUT);

  it('shows the nodes that reported in, with their health and times in the viewer’s zone', async () => {
    await nav('Nodes', 'Nodes');
    const live = page.getByRole('table', { name: 'Nodes' }).getByText('Live').first();
    await live.waitFor();
    await page.getByText('Times in Europe/Berlin').waitFor();
    // A time names its zone (CET or CEST in Berlin, in en-GB).
    const started = await page.getByRole('table', { name: 'Nodes' }).getByRole('row').nth(1).getByRole('cell').nth(6).textContent();
    expect(started).toMatch(/CES?T|GMT\+[12]/);
    await shot('02-nodes');
  }, STEP_TIMEOUT);

  it('creates an admin token with a role and resources, shows its secret once, and revokes it', async () => {
    await nav('Admin tokens', 'Admin tokens');
    await page.getByRole('button', { name: 'Create admin token' }).click();
    const dialog = ui.dialog(page, 'Create admin token');
    await dialog.getByLabel('Name').fill('ci-bot');
    await dialog.getByLabel('Role').selectOption('project-admin');
    await dialog.getByLabel('All resources').uncheck();
    await dialog.getByRole('button', { name: 'Create token' }).click();
    await dialog.getByText('Choose at least one resource, or allow all.').waitFor();
    await dialog.getByLabel('r1').check();
    await shot('03-token-create');
    await dialog.getByRole('button', { name: 'Create token' }).click();

    const shown = ui.dialog(page, 'Admin token ci-bot created');
    const secret = await shown.getByLabel('Admin token', { exact: true }).inputValue();
    expect(secret).toMatch(/^tga_/);
    await shot('04-token-secret');
    // The secret works, with the role and resources chosen.
    const who = await gw.admin('GET', '/whoami', undefined, secret);
    expect(who.body).toEqual({ name: 'ci-bot', role: 'project-admin', resources: ['r1'] });
    await shown.getByRole('button', { name: 'Done' }).click();
    const tokenRow = ui.row(page, 'Admin tokens', 'ci-bot');
    await tokenRow.getByText('project-admin').waitFor();
    expect(await tokenRow.textContent()).not.toContain(secret.slice(4));

    await tokenRow.getByRole('button', { name: 'Revoke admin token ci-bot' }).click();
    await ui.dialog(page, 'Revoke admin token ci-bot?').getByRole('button', { name: 'Revoke token' }).click();
    await toast().getByText('Admin token ci-bot revoked.').waitFor();
    await tokenRow.waitFor({ state: 'detached' });
    expect((await gw.admin('GET', '/whoami', undefined, secret)).status).toBe(401);
    await shot('05-tokens');
  }, STEP_TIMEOUT);

  it('shows the audit log with old → new values', async () => {
    ok(await gw.admin('PATCH', '/gateways/gw1/projects/web/limit', { tokensPerMinute: 6000 }), 'patch limit');
    await nav('Audit log', 'Audit log');
    const entry = ui.row(page, 'Audit log', 'limit.update');
    await entry.waitFor();
    await entry.locator('.change-old').getByText('5000').waitFor();
    await entry.locator('.change-new').getByText('6000').waitFor();
    expect(await entry.textContent()).toContain('tokensPerMinute: 5000 → 6000');
    await ui.row(page, 'Audit log', 'admin-token.delete').first().waitFor();
    await shot('06-audit');
  }, STEP_TIMEOUT);

  it('saves a setting with a toast, and deletes a gateway with enabled projects in one step from its dialog', async () => {
    await page.goto(`${gw.url}/console/gateways/gw1/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 2 }).waitFor();
    await page.getByLabel('Log request content (prompts and completions)').check();
    await toast().getByText('Request content is now logged.').waitFor();

    await page.getByRole('button', { name: 'Delete gateway' }).click();
    const dialog = ui.dialog(page, 'Delete gateway gw1?');
    await dialog.getByRole('button', { name: 'Delete gateway' }).click();
    // Refused while projects are enabled: the dialog offers the way out instead of a dead end.
    await dialog.getByText('are still enabled on gw1. Disable all of them and delete the gateway in one step?').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain('batch, web');
    const oneStep = dialog.getByRole('button', { name: 'Disable all projects and delete' });
    await oneStep.waitFor();
    await shot('07-delete-gateway-offer');
    await oneStep.click();
    await page.getByRole('heading', { name: 'AI Gateway', level: 1 }).waitFor();
    await toast().getByText('Gateway gw1 deleted; its projects were disabled.').waitFor();
    expect((await gw.admin('GET', '/gateways/gw1')).status).toBe(404);
    const projects = ok(await gw.admin('GET', '/resources/r1/projects'), 'projects') as { items: { gatewayStatus: string }[] };
    expect(projects.items.map((p) => p.gatewayStatus)).toEqual(['disabled', 'disabled']);
    await shot('08-gateway-deleted');
  }, STEP_TIMEOUT);

  it('follows the system’s dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    await page.emulateMedia({ colorScheme: 'dark' });
    await nav('Audit log', 'Audit log');
    const dark = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
    expect(light).toBe('rgb(246, 247, 249)');
    expect(dark).toBe('rgb(15, 20, 26)');
    await shot('09-dark-mode');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);
});
