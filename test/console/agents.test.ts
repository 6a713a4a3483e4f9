import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentView } from '../../src/controlplane/api-types.js';
import { startHttpAgent, type TestHttpAgent } from '../agents/http-agent.js';
import { ADMIN_TOKEN, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import * as ui from './browser.js';

/**
 * The gateway's Agents tab in real Chromium: the registration form (required fields checked before
 * anything is sent), the list with status and proxy URL, and block / unblock through the
 * confirmation dialog, each observed on the proxy itself.
 */
describe('console: agents', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let agent: TestHttpAgent;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  const callAgent = async () => (await fetch(`${gw.url}/agents/echo/ping`, { headers: { 'api-key': seeded.key } })).status;

  beforeAll(async () => {
    agent = await startHttpAgent();
    gw = await startGateway();
    seeded = await seedBasic(gw);
    browser = await ui.launchChromium();
    ({ context, page } = await ui.openPage(browser, { width: 1280, height: 900 }, pageErrors));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await agent?.close();
  });

  it('registers an agent through the form and lists it with its status and proxy URL', async () => {
    await page.goto(`${gw.url}/console/gateways/gw1/agents`);
    await page.getByRole('heading', { name: 'Agents', level: 2 }).waitFor();
    await page.getByRole('button', { name: '+ Register agent' }).click();
    const form = ui.dialog(page, 'Register agent');
    // Required fields are named before anything is sent.
    await form.getByRole('button', { name: 'Register agent' }).click();
    await ui.fieldOf(form, 'Agent URL').getByText('Enter the agent’s URL.').waitFor();
    await ui.fieldOf(form, 'Agent name').getByText(/Name the agent/).waitFor();

    await form.getByLabel('Agent URL').fill(agent.url);
    await form.getByLabel('Protocol').selectOption('a2a');
    expect(await form.getByLabel('A2A agent card URL').inputValue()).toBe('/.well-known/agent-card.json');
    await form.getByLabel('Protocol').selectOption('http');
    expect(await form.getByLabel('A2A agent card URL').count()).toBe(0);
    await form.getByLabel('OpenTelemetry Agent ID').fill('otel-echo');
    await form.getByLabel('Admin portal URL').fill('https://portal.example/echo');
    await form.getByLabel('Project').selectOption('p1');
    await form.getByLabel('Agent name').fill('echo');
    await form.getByLabel('Description').fill('Echoes what it gets');
    await ui.screenshot(page, 'agents-01-register-form');
    await form.getByRole('button', { name: 'Register agent' }).click();
    await form.waitFor({ state: 'detached' });

    const echo = ui.row(page, 'Agents', 'echo');
    await echo.getByText(`${gw.url}/agents/echo`).waitFor();
    await echo.getByRole('button', { name: 'Copy the proxy URL of echo' }).waitFor();
    // The background health check reaches the agent: the list refreshes to Running.
    await echo.getByText('Running').waitFor({ timeout: 30_000 });
    await ui.screenshot(page, 'agents-02-listed');
    const stored = (await gw.admin('GET', '/gateways/gw1/agents/echo')).body as AgentView;
    expect(stored).toMatchObject({ url: agent.url, protocol: 'http', otelAgentId: 'otel-echo', adminPortalUrl: 'https://portal.example/echo', description: 'Echoes what it gets' });
    expect(await callAgent()).toBe(200);
  }, 60_000);

  it('blocks and unblocks through the confirmation dialog', async () => {
    const echo = ui.row(page, 'Agents', 'echo');
    await echo.getByRole('button', { name: 'Block agent echo' }).click();
    const confirm = ui.dialog(page, 'Block agent echo?');
    await confirm.getByText(/agent_blocked/).waitFor();
    await ui.screenshot(page, 'agents-03-block-confirm');
    await confirm.getByRole('button', { name: 'Block agent' }).click();
    await confirm.waitFor({ state: 'detached' });
    await echo.getByText('Blocked').waitFor();
    expect(await callAgent()).toBe(403);
    // The refusal shows among the recent agent requests (the ledger is written off the request path).
    await ui.row(page, 'Recent agent requests', 'agent_blocked').first().waitFor({ timeout: 20_000 });
    await ui.screenshot(page, 'agents-04-blocked');

    await echo.getByRole('button', { name: 'Unblock agent echo' }).click();
    await ui.dialog(page, 'Unblock agent echo?').getByRole('button', { name: 'Unblock agent' }).click();
    await echo.getByRole('button', { name: 'Block agent echo' }).waitFor();
    expect(await callAgent()).toBe(200);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
