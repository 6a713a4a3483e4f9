import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/seed.js';
import { ROOT } from '../support/cli.js';
import { startGateway, type TestGateway } from '../support/harness.js';

const run = promisify(execFile);

/** The README's client snippet, as a reader runs it: saved as hello.mjs, with the demo project's key in TOLLGATE_KEY. */
describe("the README's client snippet", () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway();
    key = (await seedDemo(gw.tollgate.store, gw.tollgate.service))!;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('runs as hello.mjs against the demo deployment and prints the answer', { timeout: 60_000 }, async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('save this as `hello.mjs`');
    expect(readme).toContain('TOLLGATE_KEY=<the project key npm start printed> node hello.mjs');
    const snippet = /Call it like OpenAI[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    expect(snippet).toContain("baseURL: 'http://127.0.0.1:8080/openai/v1'");
    // Inside the repository, so `openai` resolves from its node_modules as after `npm install openai`.
    const dir = join(ROOT, 'test-artifacts', 'readme-snippet');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'hello.mjs');
    writeFileSync(file, snippet!.replace('http://127.0.0.1:8080', gw.url));
    const { stdout } = await run(process.execPath, [file], { cwd: dir, env: { ...process.env, TOLLGATE_KEY: key } });
    expect(stdout.trim().length).toBeGreaterThan(0);
  });
});
