import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

const run = promisify(execFile);

describe('the test suite’s prerequisites check (vitest global setup)', () => {
  it('names each missing prerequisite in one line with how to get it', { timeout: 60_000 }, async () => {
    const env = { ...process.env, TOLLGATE_TEST_POSTGRES_URL: 'postgres://postgres@127.0.0.1:1/postgres', CHROMIUM_PATH: '/nonexistent/chromium' };
    const script = "import('./test/prerequisites.ts').then((m) => m.setup()).then(() => console.log('ok'), (e) => { console.error(e.message); process.exit(3); })";
    const failed = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(3);
    const lines = failed!.stderr.trim().split('\n');
    expect(lines[0]).toBe('the test suite needs what this machine lacks:');
    expect(lines.filter((l) => l.startsWith('  - '))).toHaveLength(2);
    expect(failed!.stderr).toMatch(/ {2}- PostgreSQL: no server answers at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres .*apt-get install postgresql.*TOLLGATE_TEST_POSTGRES_URL/);
    expect(failed!.stderr).toMatch(/ {2}- Chromium: not found at \/nonexistent\/chromium .*apt-get install chromium.*CHROMIUM_PATH/);
  });
});
