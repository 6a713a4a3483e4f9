import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, SLOW } from '../support/cli.js';

interface Started {
  out: string;
  code: number | null;
  stop(): Promise<void>;
}

/** `tollgate start` as `npm start` runs it (HOST unset), resolved once it serves or has exited. */
function start(args: string[], env: Record<string, string>): Promise<Started> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TOLLGATE_LOG_LEVEL: 'silent', ...env };
  delete childEnv.HOST;
  delete childEnv.PORT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, 'start', '--demo', ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const stop = () => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM'))));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/Try it:[\s\S]*\n\n$/.test(out) || out.includes('(existing data')) resolve({ out, code: null, stop });
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => resolve({ out, code, stop }));
    child.once('error', reject);
  });
}

describe('tollgate start (npm start)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-start-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('listens on 127.0.0.1 as its banner says, prints the console URL, reports its limiter up, and a second start explains the busy port', SLOW, async () => {
    const first = await start(['--port', '0'], { TOLLGATE_DATA_DIR: join(dir, 'one') });
    try {
      expect(first.code).toBeNull();
      const url = /Tollgate is running at (http:\/\/127\.0\.0\.1:(\d+))/.exec(first.out);
      expect(url, first.out).not.toBeNull();
      expect(first.out).toContain('(only this machine: --host 0.0.0.0 to listen on every interface)');
      expect(first.out).toContain(`  console: ${url![1]}/console (sign in with the admin token)`);
      // The console answers there.
      expect((await fetch(`${url![1]}/console/`)).status).toBe(200);
      // A healthy single node: its (in-process) limiter is up, so an alert on 0 stays quiet.
      const metrics = await (await fetch(`${url![1]}/metrics`)).text();
      expect(metrics).toMatch(/^tollgate_limiter_backend_up 1$/m);

      const second = await start(['--port', url![2]!], { TOLLGATE_DATA_DIR: join(dir, 'two') });
      expect(second.code).toBe(1);
      expect(second.out).toContain(`tollgate: port ${url![2]} on 127.0.0.1 is already in use — is Tollgate (or another program) already running there?`);
      expect(second.out).toContain('--port');
      expect(second.out).not.toContain('EADDRINUSE');
      expect(second.out).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      await first.stop();
    }
  });
});
