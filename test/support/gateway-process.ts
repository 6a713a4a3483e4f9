import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { ROOT } from './cli.js';
import { ADMIN_TOKEN, SECRET_KEY } from './harness.js';

/** A gateway running as a real process (`tollgate start` or `serve` from the sources). */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr: the banner, the logs, errors). */
  output(): string;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** SIGKILL if still running; for clean-up. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Spawns `node --import tsx src/cli/bin.ts <args>` listening on a free port of 127.0.0.1 and waits
 * until /healthz answers (bounded: 30 s).
 */
export async function spawnGateway(args: string[], env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...args, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN, TOLLGATE_SECRET_KEY: SECRET_KEY, TOLLGATE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gateway exited during start-up: ${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i === 300) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not start within 30 s: ${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    child,
    output: () => output,
    exited,
    async admin(method, path, body) {
      const res = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** One answer a load loop got. */
export interface Answer {
  /** When the client had the whole answer (ms since epoch). */
  atMs: number;
  status: number;
  /** x-tokens-consumed: what the gateway charged. */
  tokens: number;
}

export interface LoadResult {
  answers: Answer[];
  /** Requests that got no answer (the connection failed or was cut). */
  failed: number;
}

/**
 * `concurrency` loops sending `body` to `url` with `key` until `stop()` says so or `maxMs` has passed;
 * a loop ends at its first transport failure (the gateway went away).
 */
export async function runLoad(
  url: string,
  key: string,
  body: unknown,
  options: { concurrency: number; maxMs: number; stop: () => boolean },
): Promise<LoadResult> {
  const dispatcher = new Agent({ connections: options.concurrency, keepAliveTimeout: 10_000 });
  const answers: Answer[] = [];
  let failed = 0;
  const deadline = Date.now() + options.maxMs;
  const text = JSON.stringify(body);
  const loop = async () => {
    while (!options.stop() && Date.now() < deadline) {
      try {
        const res = await request(`${url}/openai/v1/chat/completions`, {
          method: 'POST',
          dispatcher,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: text,
        });
        await res.body.text();
        answers.push({ atMs: Date.now(), status: res.statusCode, tokens: Number(res.headers['x-tokens-consumed'] ?? 0) });
      } catch {
        failed++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  await dispatcher.destroy();
  return { answers, failed };
}
