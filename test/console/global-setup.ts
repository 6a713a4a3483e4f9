import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Vitest global setup: the browser tests need dist/console. `npm ci` builds it (prepare); this
 * builds it when missing or older than its sources, once for all test files (two files building
 * into one folder at the same time would trample each other).
 */
export function setup(): void {
  if (consoleBuildIsStale()) execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
}

function consoleBuildIsStale(): boolean {
  const built = `${ROOT}dist/console/index.html`;
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const sources = [
    `${ROOT}console/index.html`,
    `${ROOT}console/vite.config.ts`,
    ...readdirSync(`${ROOT}console/src`, { recursive: true, encoding: 'utf8' }).map((f) => `${ROOT}console/src/${f}`),
  ];
  return sources.some((file) => statSync(file).mtimeMs > builtAt);
}
