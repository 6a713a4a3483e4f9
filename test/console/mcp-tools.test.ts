import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from '../mcp/mcp-upstream.js';
import * as ui from './browser.js';

/**
 * MCP in the console, in real Chromium: a server registered under its resource, then the gateway's
 * Tools tab — a grant with an allow-list, a call limit with its live standing, and the calls an
 * MCP SDK client made through the gateway.
 */

const STEP_TIMEOUT = 60_000;

describe('MCP servers and the Tools tab in the console', () => {
  let gw: TestGateway;
  let seed: Seeded;
  let upstream: McpUpstream;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    gw = await startGateway();
    seed = await seedBasic(gw);
    browser = await ui.launchChromium();
    ({ context, page } = await ui.openPage(browser, { width: 1280, height: 900 }, pageErrors));
    await ui.signIn(page, gw.url, ADMIN_TOKEN);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('registers an MCP server under the resource, with a write-only credential', { timeout: STEP_TIMEOUT }, async () => {
    await page.goto(`${gw.url}/console/resources/r1`);
    await page.getByRole('heading', { name: 'MCP servers', level: 2 }).waitFor();
    await page.getByRole('button', { name: 'Add MCP server' }).click();
    const form = ui.dialog(page, 'Add MCP server');
    await form.getByLabel('Name', { exact: true }).fill('tools');
    await form.getByLabel('Server URL').fill(upstream.url);
    await form.getByLabel('Upstream authentication').selectOption('bearer');
    await form.getByLabel('Credential').fill(UPSTREAM_TOKEN);
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await ui.row(page, 'MCP servers', 'tools').waitFor();
    const text = await ui.row(page, 'MCP servers', 'tools').innerText();
    expect(text).toContain('/mcp/tools');
    expect(text).toContain('Bearer token (set)');
    expect(text).not.toContain(UPSTREAM_TOKEN);
    expect((await gw.admin('GET', '/resources/r1/mcp-servers/tools')).body.upstreamAuth).toEqual({ type: 'bearer', headerName: null, hasValue: true });
  });

  it('grants it with an allow-list and a call limit in the Tools tab, and shows the calls and the standing', { timeout: STEP_TIMEOUT }, async () => {
    await page.goto(`${gw.url}/console/gateways/gw1`);
    await ui.gatewayTab(page, 'Tools');
    await page.getByRole('button', { name: 'Grant access' }).click();
    const grant = ui.dialog(page, 'Grant access');
    await grant.getByLabel('All tools of the server').uncheck();
    await grant.getByLabel('Allowed tools').fill('echo, add');
    await grant.getByRole('button', { name: 'Grant', exact: true }).click();
    await ui.row(page, 'MCP grants', 'p1').waitFor();
    expect(await ui.row(page, 'MCP grants', 'p1').innerText()).toContain('add, echo');

    await page.getByRole('button', { name: 'Add call limit' }).click();
    const limit = ui.dialog(page, 'Add call limit');
    await limit.getByLabel('Tool').fill('add');
    await limit.getByLabel('Calls per minute').fill('5');
    await limit.getByRole('button', { name: 'Add', exact: true }).click();
    await ui.row(page, 'MCP call limits', 'calls/min').waitFor();

    // An MCP client calls through the gateway with the project key.
    const client = new Client({ name: 'console-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp/tools`), { requestInit: { headers: { authorization: `Bearer ${seed.key}` } } }));
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['add', 'echo']);
    await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
    await client.callTool({ name: 'secret', arguments: {} }).catch(() => undefined);
    await client.close();

    // The standing refreshes on its own (every few seconds), and so do the recent calls.
    await page.getByRole('meter', { name: 'Calls per minute used, p1 on tools / add' }).waitFor();
    await expect.poll(async () => page.getByRole('meter', { name: 'Calls per minute used, p1 on tools / add' }).getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('1');
    await ui.row(page, 'Recent MCP calls', 'mcp_access_denied').waitFor({ timeout: 20_000 });
    const calls = await page.getByRole('table', { name: 'Recent MCP calls' }).innerText();
    expect(calls).toContain('tools/call');
    expect(calls).toContain('secret');
    await ui.screenshot(page, 'mcp-tools-tab');
    expect(pageErrors).toEqual([]);
  });
});
