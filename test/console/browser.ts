import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Real Chromium for the console tests, and the few helpers every console test uses. */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const UI_TIMEOUT = 10_000;

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (its own sessionStorage) and page; uncaught page errors go to `errors`. */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number },
  errors: string[],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on('pageerror', (err) => errors.push(err.message));
  return { context, page };
}

export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'AI Gateway', level: 1 }).waitFor();
}

/** test-artifacts/console/<name>.png, the whole page. */
export const screenshot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

export const dialog = (page: Page, name: string) => page.getByRole('dialog', { name });

/** Rows of the table with this accessible name that contain the text. */
export const row = (page: Page, table: string, text: string | RegExp) =>
  page.getByRole('table', { name: table }).getByRole('row').filter({ hasText: text });

/** The field wrapper of a labelled control: where the console shows the control's error. */
export const fieldOf = (scope: Locator, label: string) =>
  scope.locator('.field').filter({ has: scope.page().getByLabel(label, { exact: true }) });

export async function gatewayTab(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Gateway sections' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { name, level: 2 }).waitFor();
}
