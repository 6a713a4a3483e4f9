import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../src/controlplane/api-types.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';

/**
 * A deployment's backend pool in the console, in real Chromium: created and edited through the
 * deployment dialog, listed with each backend's live state from `…/deployments/{d}/backends` (a
 * tripped one stubbed with page.route, as no upstream here fails).
 */

const STEP_TIMEOUT = 60_000;

describe('backend pools in the console', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const stored = async (name: string) => (await gw.admin('GET', `/resources/r1/deployments/${name}`)).body as DeploymentView;

  beforeAll(async () => {
    gw = await startGateway();
    const res = await gw.admin('POST', '/resources', { name: 'r1' });
    if (res.status !== 201) throw new Error(`resource r1: ${res.status}`);
    browser = await ui.launchChromium();
    ({ context, page } = await ui.openPage(browser, { width: 1280, height: 900 }, pageErrors));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('creates a two-backend deployment through the dialog and lists both backends', async () => {
    await page.goto(`${gw.url}/console/resources/r1`);
    await page.getByRole('heading', { name: 'r1', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Add deployment' }).click();
    const form = ui.dialog(page, 'Add deployment');
    await form.getByLabel('Name', { exact: true }).fill('pool');
    await form.getByLabel('Provider').selectOption('openai-compatible');
    await form.getByLabel('Several upstreams (a backend pool with failover)').check();
    expect(await form.getByLabel('Upstream URL').count()).toBe(0);

    const first = form.getByRole('group', { name: 'Backend 1' });
    await first.getByLabel('Backend name').fill('east');
    await first.getByLabel('Backend URL').fill('http://127.0.0.1:9/v1');
    await first.getByLabel('Weight').fill('2');
    await first.getByLabel('Backend API key').fill('sk-east-secret');
    await form.getByRole('button', { name: 'Add backend' }).click();
    const second = form.getByRole('group', { name: 'Backend 2' });
    await second.getByLabel('Backend name').fill('west');
    await second.getByLabel('Backend URL').fill('http://127.0.0.1:10/v1');
    await second.getByLabel('Backend model').fill('gpt-west');
    await second.getByLabel('Priority').fill('2');
    await form.getByLabel('Retry attempts').fill('2');
    await form.getByLabel('Trip duration (s)').fill('15');
    await form.getByRole('button', { name: 'Add deployment' }).click();
    await form.waitFor({ state: 'detached' });

    const backends = page.getByRole('list', { name: 'Backends of pool' });
    await backends.getByRole('listitem').filter({ hasText: 'east' }).getByText('priority 1 · weight 2').waitFor();
    await backends.getByRole('listitem').filter({ hasText: 'west' }).getByText('priority 2 · weight 1').waitFor();
    // Each backend's live breaker state, read from …/deployments/{d}/backends: nothing has failed yet.
    await backends.getByText('healthy').first().waitFor();
    expect(await backends.getByText('healthy').count()).toBe(2);
    await ui.screenshot(page, 'backends-01-pool-listed');

    const d = await stored('pool');
    expect(d.backends?.map((b) => [b.name, b.upstreamUrl, b.priority, b.weight, b.upstreamModel, b.hasUpstreamApiKey])).toEqual([
      ['east', 'http://127.0.0.1:9/v1', 1, 2, null, true],
      ['west', 'http://127.0.0.1:10/v1', 2, 1, 'gpt-west', false],
    ]);
    expect(d.retry).toEqual({ attempts: 2 });
    expect(d.circuitBreaker).toEqual({ tripSeconds: 15 });
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);

  it('edits the pool with the keys write-only: a backend kept by name keeps its key', async () => {
    await page.getByRole('button', { name: 'Edit deployment pool' }).click();
    const edit = ui.dialog(page, 'Edit deployment pool');
    const first = edit.getByRole('group', { name: 'Backend 1' });
    expect(await first.getByLabel('Backend name').inputValue()).toBe('east');
    expect(await first.getByLabel('Backend API key').inputValue()).toBe('');
    expect(await first.getByLabel('Backend API key').getAttribute('placeholder')).toContain('set');
    expect(await edit.getByLabel('Trip duration (s)').inputValue()).toBe('15');
    await edit.getByRole('button', { name: 'Remove west' }).click();
    await first.getByLabel('Weight').fill('3');
    await edit.getByLabel('Trip duration (s)').fill('');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await page.getByRole('list', { name: 'Backends of pool' }).getByText('priority 1 · weight 3').waitFor();

    const d = await stored('pool');
    expect(d.backends?.map((b) => [b.name, b.weight, b.hasUpstreamApiKey])).toEqual([['east', 3, true]]);
    expect(d.circuitBreaker ?? null).toBeNull();
  }, STEP_TIMEOUT);

  it("shows each backend's breaker state by polling …/backends once the gateway answers it", async () => {
    const openUntil = new Date(Date.now() + 30_000).toISOString();
    await page.route('**/admin/v1/resources/r1/deployments/pool/backends', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          items: [{ name: 'east', priority: 1, weight: 3, state: 'open', openUntil, recentFailures: 4, requests: 120, share: 0.25 }],
        }),
      }),
    );
    // No reload: the panel polls, so the state appears within its refresh period.
    const east = page.getByRole('list', { name: 'Backends of pool' }).getByRole('listitem').filter({ hasText: 'east' });
    await east.getByText('tripped').waitFor({ timeout: 15_000 });
    await east.getByText('25 % of 120 requests · 4 recent failures', { exact: false }).waitFor();
    await ui.screenshot(page, 'backends-02-live-state');
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);
});
