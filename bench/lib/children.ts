import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Every process the benchmark starts, so none outlives it: stopped in `finally` blocks by their
 * owners, and killed here on SIGINT/SIGTERM or when the runner exits for any other reason.
 */
const children = new Set<ChildProcess>();
/** Extra pids that die with nothing else (nginx workers, should their master be SIGKILLed). */
const orphans = new Set<number>();

/** Temporary directories to remove when the runner exits early (owners remove them otherwise). */
const dirs = new Set<string>();

export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function trackPid(pid: number): void {
  orphans.add(pid);
}

export function untrackPid(pid: number): void {
  orphans.delete(pid);
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Last resort, synchronous: SIGKILL whatever is still running, remove the temporary directories. */
export function killAllNow(): void {
  for (const child of children) if (alive(child) && child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
  for (const pid of orphans) killQuietly(pid, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** SIGTERM everything still running, wait up to `graceMs`, then SIGKILL the rest. */
export async function stopAll(graceMs = 3000): Promise<void> {
  const running = [...children].filter(alive);
  const exited = Promise.all(running.map((c) => new Promise((resolve) => (alive(c) ? c.once('exit', resolve) : resolve(null)))));
  for (const child of running) child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  killAllNow();
}

let installed = false;

/** SIGINT/SIGTERM: stop every child, then exit 130/143; on any exit: SIGKILL what is left. */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping ${children.size} child process(es)...\n`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllNow);
}
