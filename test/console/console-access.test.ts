import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedBasic, startGateway, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';

/** What each role is offered in the console, and the layout of a narrow (phone-sized) window. */
describe('admin console roles and layout in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let viewerToken: string;
  const pageErrors: string[] = [];

  const ok = <T = any>(res: { status: number; body: T }, what: string): T => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  /** A signed-in page in its own context (own sessionStorage), closed after `use`. */
  async function withPage(token: string, viewport: { width: number; height: number }, use: (page: Page) => Promise<void>) {
    const { context, page } = await ui.openPage(browser, viewport, pageErrors);
    try {
      await ui.signIn(page, gw.url, token);
      await use(page);
    } finally {
      await context.close();
    }
  }

  beforeAll(async () => {
    gw = await startGateway();
    // r1 with sim-chat, gateway gw1 and enabled project p1; a limit; a viewer token.
    await seedBasic(gw);
    ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', deployment: 'sim-chat', tokensPerMinute: 1000 }), 'limit');
    viewerToken = ok(await gw.admin('POST', '/tokens', { name: 'auditor', role: 'viewer' }), 'viewer token').token;
    browser = await ui.launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('offers a viewer no create, edit or delete actions', async () => {
    await withPage(viewerToken, { width: 1280, height: 900 }, async (p) => {
      await p.getByText('viewer', { exact: true }).waitFor();
      await ui.row(p, 'Gateways', 'gw1').waitFor();
      expect(await p.getByRole('button', { name: 'Add AI Gateway' }).count()).toBe(0);

      await p.getByRole('link', { name: 'gw1' }).first().click();
      await ui.row(p, 'Gateway projects', 'p1').waitFor();
      expect(await p.getByRole('button', { name: 'Add project to gateway' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^Disable/ }).count()).toBe(0);
      await ui.gatewayTab(p, 'Token management');
      await ui.row(p, 'Token limits', 'p1').getByRole('meter').waitFor();
      expect(await p.getByRole('button', { name: '+ Add limit' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^(Edit|Delete) limit/ }).count()).toBe(0);
      await ui.gatewayTab(p, 'Settings');
      expect(await p.getByRole('checkbox', { name: /Log request content/ }).isDisabled()).toBe(true);
      expect(await p.getByRole('button', { name: 'Delete gateway' }).count()).toBe(0);

      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resources' }).click();
      await ui.row(p, 'Resources', 'r1').waitFor();
      expect(await p.getByRole('button', { name: 'Create resource' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
      await p.getByRole('link', { name: 'r1', exact: true }).click();
      await ui.row(p, 'Projects', 'p1').waitFor();
      await ui.row(p, 'Deployments', 'sim-chat').waitFor();
      expect(await p.getByRole('button', { name: 'Create project' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Add deployment' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /Regenerate|Delete|Edit/ }).count()).toBe(0);
      await ui.screenshot(p, '11-viewer');
    });
  }, 60_000);

  it('offers a project-admin projects and keys only, on its resources', async () => {
    ok(await gw.admin('POST', '/resources', { name: 'r2' }), 'resource r2');
    const token = ok(await gw.admin('POST', '/tokens', { name: 'team-lead', role: 'project-admin', resources: ['r1'] }), 'token').token;
    await withPage(token, { width: 1280, height: 900 }, async (p) => {
      await ui.row(p, 'Gateways', 'gw1').waitFor();
      expect(await p.getByRole('button', { name: 'Add AI Gateway' }).count()).toBe(0);
      await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resources' }).click();
      await ui.row(p, 'Resources', 'r2').waitFor();
      expect(await p.getByRole('button', { name: 'Create resource' }).count()).toBe(0);

      await p.getByRole('link', { name: 'r1', exact: true }).click();
      await ui.row(p, 'Projects', 'p1').getByRole('button', { name: 'Regenerate primary key of p1' }).waitFor();
      expect(await p.getByRole('button', { name: 'Add deployment' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^Edit deployment/ }).count()).toBe(0);
      await p.getByRole('button', { name: 'Create project' }).waitFor();

      await p.getByRole('link', { name: 'Resources' }).first().click();
      await p.getByRole('link', { name: 'r2', exact: true }).click();
      await p.getByText('No projects yet.').waitFor();
      expect(await p.getByRole('button', { name: 'Create project' }).count()).toBe(0);
    });
  }, 60_000);

  it('collapses the navigation into a menu on a narrow window; tables scroll sideways', async () => {
    await withPage(ADMIN_TOKEN, { width: 420, height: 860 }, async (p) => {
      const menu = p.getByRole('button', { name: 'Menu' });
      const nav = p.getByRole('navigation', { name: 'Main' });
      await menu.waitFor();
      expect(await nav.isVisible()).toBe(false);
      // The table scrolls inside its frame; the page itself never gets wider than the window.
      const scroller = p.locator('.table-scroll').first();
      await scroller.waitFor();
      const overflow = await scroller.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(overflow.scroll).toBeGreaterThan(overflow.client);
      expect(await p.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(420);
      await ui.screenshot(p, '12-narrow');

      await menu.click();
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
      await nav.getByRole('link', { name: 'Resources' }).waitFor({ state: 'visible' });
      await ui.screenshot(p, '13-narrow-menu');
      await nav.getByRole('link', { name: 'Resources' }).click();
      await p.getByRole('heading', { name: 'Resources', level: 1 }).waitFor();
      expect(await nav.isVisible()).toBe(false);

      // A gateway's page at this width: its tabs and the limits table fit or scroll, never the page.
      await p.goto(`${gw.url}/console/gateways/gw1/limits`);
      await ui.row(p, 'Token limits', 'p1').getByRole('meter').waitFor();
      expect(await p.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(420);
      await ui.screenshot(p, '14-narrow-limits');
    });
  }, 60_000);

  it('refreshes the gateway list on its own while a gateway is provisioning', async () => {
    // Provisioning ends when a node loads the gateway; here the store plays that node.
    const store = gw.tollgate.store;
    const gateway = (await store.findGateway('gw1'))!;
    await store.setGatewayStatus(gateway.id, 'provisioning');
    await withPage(ADMIN_TOKEN, { width: 1280, height: 900 }, async (p) => {
      await ui.row(p, 'Gateways', 'gw1').getByText('Provisioning').waitFor();
      await store.setGatewayStatus(gateway.id, 'enabled');
      await ui.row(p, 'Gateways', 'gw1').getByText('Enabled').waitFor();
    });
  }, 60_000);

  it('raised no uncaught errors in the pages', () => {
    expect(pageErrors).toEqual([]);
  });
});
