import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADMIN_TOKEN } from './harness.js';

const execFileAsync = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Each run is a fresh `node --import tsx` (about half a second): tests that run the CLI need time. */
export const SLOW = { timeout: 60_000 };
export const CLI = ['--import', 'tsx', 'src/cli/bin.ts'];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI from the repository against the gateway at `url` with the owner token in the
 * environment; `env` entries set to undefined are removed from it.
 */
export async function runCli(url: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const merged: NodeJS.ProcessEnv = { ...process.env, TOLLGATE_URL: url, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...env };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [...CLI, ...args], { cwd: ROOT, env: merged });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw err;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Runs the CLI and answers its output; a non-zero exit fails with its stderr. */
export async function runCliOk(url: string, args: string[], env?: Record<string, string | undefined>): Promise<string> {
  const run = await runCli(url, args, env);
  if (run.code !== 0) throw new Error(`tollgate ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}
