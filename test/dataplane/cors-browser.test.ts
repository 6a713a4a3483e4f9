import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage } from '../console/browser.js';
import { expectStatus } from '../support/admin-helpers.js';
import { startGateway, type TestGateway } from '../support/harness.js';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

/**
 * A browser app on another origin calls the data plane with the official openai SDK in its
 * browser mode, in real Chromium: the preflight and the answer's headers are what a browser
 * checks, not what a test thinks it checks.
 */
describe('browser apps on the data plane (Chromium)', () => {
  let gw: TestGateway;
  let app: Server;
  let appOrigin: string;
  let browser: Browser;
  let page: Page;
  let listedKey: string;
  let unlistedKey: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The app's origin: a page and the SDK's ES modules, from a server on its own port.
    app = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/') {
        // The SDK as an app bundles it: loaded by the page, as an ES module.
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<!doctype html><title>app</title><script type="module">import { OpenAI } from '/sdk/openai/index.mjs'; window.OpenAI = OpenAI;</script>`);
        return;
      }
      const file = path.join(NODE_MODULES, decodeURIComponent(url.slice('/sdk/'.length)));
      if (!url.startsWith('/sdk/') || !file.startsWith(NODE_MODULES)) {
        res.writeHead(404).end();
        return;
      }
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

    gw = await startGateway();
    for (const [gateway, resource, corsOrigins] of [
      ['gw-web', 'web', [appOrigin]],
      ['gw-internal', 'internal', []],
    ] as const) {
      expectStatus(await gw.admin('POST', '/resources', { name: resource }), 201);
      expectStatus(await gw.admin('POST', `/resources/${resource}/deployments`, { name: 'sim', provider: 'simulated', options: { completionTokens: 5 } }), 201);
      expectStatus(await gw.admin('POST', '/gateways', { name: gateway, resource, instance: { mode: 'new' }, corsOrigins }), 201);
    }
    listedKey = expectStatus(await gw.admin('POST', '/resources/web/projects', { name: 'spa' }), 201).keys.primary;
    unlistedKey = expectStatus(await gw.admin('POST', '/resources/internal/projects', { name: 'spa' }), 201).keys.primary;
    expectStatus(await gw.admin('POST', '/gateways/gw-web/limits', { project: 'spa', tokensPerMinute: 500 }), 201);

    browser = await launchChromium();
    ({ page } = await openPage(browser, { width: 800, height: 600 }, pageErrors));
    await page.goto(`${appOrigin}/`);
    await page.waitForFunction("'OpenAI' in window");
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await new Promise((resolve) => app?.close(resolve));
  });

  /** Runs a chat completion with the openai SDK inside the page; answers what the page could read. */
  const sdkChat = (key: string, maxTokens: number) =>
    page.evaluate(
      async ({ baseURL, apiKey, maxTokens }) => {
        const { OpenAI } = globalThis as unknown as { OpenAI: typeof import('openai').OpenAI };
        const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
        try {
          const { data, response } = await client.chat.completions
            .create({ model: 'sim', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens })
            .withResponse();
          return { ok: true, text: data.choices[0]?.message.content, remaining: response.headers.get('x-ratelimit-remaining-tokens') };
        } catch (err) {
          const e = err as { status?: number; code?: string };
          // A network error to the SDK: what a browser makes of an answer it may not read.
          return { ok: false, connectionError: err instanceof OpenAI.APIConnectionError, status: e.status, code: e.code };
        }
      },
      { baseURL: `${gw.url}/openai/v1`, apiKey: key, maxTokens },
    );

  it('lets a listed origin call with the openai SDK and read the limit headers and refusals', async () => {
    const ok = await sdkChat(listedKey, 5);
    expect(ok).toMatchObject({ ok: true });
    expect(Number((ok as { remaining: string }).remaining)).toBeGreaterThan(0);
    expect(Number((ok as { remaining: string }).remaining)).toBeLessThan(500);
    // A refusal is readable too: the SDK sees the 429 and its code, not a network error.
    expect(await sdkChat(listedKey, 5000)).toMatchObject({ ok: false, connectionError: false, status: 429, code: 'token_rate_limit_exceeded' });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("blocks the page from reading a gateway's answers when that gateway does not list its origin", async () => {
    // The preflight passes (a gateway served here lists the origin), the answer is withheld.
    expect(await sdkChat(unlistedKey, 5)).toMatchObject({ ok: false, connectionError: true, status: undefined });
    expect(await sdkChat(listedKey, 5)).toMatchObject({ ok: true });
  }, 30_000);

  it('passes the preflight of the headers the Anthropic SDK sends in browser mode', async () => {
    const answer = await page.evaluate(async (url) => {
      const res = await fetch(`${url}/anthropic/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': 'tgk_unknown',
          'anthropic-version': '2023-06-01',
          'anthropic-dangerous-direct-browser-access': 'true',
          'x-stainless-lang': 'js',
          'x-stainless-retry-count': '0',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ model: 'sim', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    }, gw.url);
    // Through the preflight, then readable: the unknown key's 401 in Anthropic's shape.
    expect(answer).toMatchObject({ status: 401, body: { type: 'error', error: { code: 'invalid_api_key' } } });
  }, 30_000);
});
