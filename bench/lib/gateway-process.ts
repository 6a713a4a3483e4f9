import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const BENCH_ADMIN_TOKEN = 'tga_bench-owner-token-0123456789';

export interface GatewayProcess {
  url: string;
  pid: number;
  /** The process's fresh data directory (removed by stop()). */
  dataDir: string;
  child: ChildProcess;
  admin(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export interface GatewayProcessOptions {
  /** Pins the process to this CPU (`taskset -c <cpu>`, which execs node: the pid stays node's). */
  cpu?: number;
  /** A command the whole thing runs under, e.g. `['nice', '-n', '-5']` (before the taskset of `cpu`). */
  prefix?: string[];
  /** Extra node flags before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Where the process's stdout goes (an open file descriptor); discarded by default. */
  stdout?: number;
  /** Called with the child and its data directory right after it is spawned (e.g. to register them for clean-up on signals). */
  onSpawn?: (child: ChildProcess, dataDir: string) => void;
}

/** Starts `tollgate start` (the built dist/) as a child process on a free port with a fresh data dir. */
export async function startGatewayProcess(
  port: number,
  env: Record<string, string> = {},
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-bench-'));
  const nodeArgv = [...(options.nodeArgs ?? []), 'bin/tollgate.js', 'start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir];
  const argv = [
    ...(options.prefix ?? []),
    ...(options.cpu === undefined ? [] : ['taskset', '-c', String(options.cpu)]),
    process.execPath,
    ...nodeArgv,
  ];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, TOLLGATE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, TOLLGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', options.stdout ?? 'ignore', 'inherit'],
  });
  options.onSpawn?.(child, dataDir);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway on port ${port} exited during start-up`);
    await sleep(50);
    if (i === 199) {
      child.kill('SIGKILL');
      throw new Error(`gateway on port ${port} did not start`);
    }
  }
  const admin = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${url}/admin/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return {
    url,
    pid: child.pid!,
    dataDir,
    child,
    admin,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        // Graceful shutdown waits for in-flight requests; do not wait forever.
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A resource with one deployment, a gateway, a project and (optionally) a TPM limit and a quota
 * that never trip. Returns the project key.
 */
export async function seedGoverned(
  gw: GatewayProcess,
  deployment: { provider: string; upstreamUrl?: string; backends?: { name: string; upstreamUrl: string }[]; options?: Record<string, unknown> },
  withLimits: boolean,
): Promise<string> {
  await gw.admin('POST', '/resources', { name: 'bench' });
  await gw.admin('POST', '/resources/bench/deployments', { name: 'bench-model', ...deployment });
  await gw.admin('POST', '/gateways', { name: 'bench-gw', resource: 'bench', instance: { mode: 'new' } });
  const project = await gw.admin('POST', '/resources/bench/projects', { name: 'bench-project' });
  if (withLimits) {
    await gw.admin('POST', '/gateways/bench-gw/limits', {
      project: 'bench-project',
      tokensPerMinute: 1_000_000_000_000,
      tokenQuota: 1_000_000_000_000,
      quotaPeriod: 'monthly',
    });
  }
  return project.keys.primary as string;
}
