import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const BENCH_ADMIN_TOKEN = 'tga_bench-owner-token-0123456789';

export interface GatewayProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  admin(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** Starts `tollgate start` (the built dist/) as a child process on a free port with a fresh data dir. */
export async function startGatewayProcess(port: number, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-bench-'));
  const child = spawn(process.execPath, ['bin/tollgate.js', 'start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { ...process.env, TOLLGATE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, TOLLGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
    if (i === 199) throw new Error(`gateway on port ${port} did not start`);
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
    child,
    admin,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
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
  deployment: { provider: string; upstreamUrl?: string; options?: Record<string, unknown> },
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
