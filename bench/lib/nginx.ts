import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { track, trackDir, trackPid, untrackPid } from './children.js';
import { childPids } from './proc.js';
import { CHAT_COMPLETION, CHAT_COMPLETION_SSE, UPSTREAM_JSON_PATH, UPSTREAM_SSE_PATH } from './upstream.js';

export const NGINX = '/usr/sbin/nginx';
export const WRK = '/usr/bin/wrk';

/** Installs nginx / wrk with apt-get when missing (the benchmark needs both). */
export function ensureTools(): void {
  const missing = [
    [NGINX, 'nginx'],
    [WRK, 'wrk'],
  ].filter(([bin]) => !existsSync(bin!));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg!);
  console.log(`installing ${packages.join(', ')} with apt-get...`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', ...packages]]) {
    const [cmd, ...rest] = [...sudo, ...args];
    const r = spawnSync(cmd!, rest, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${[...sudo, ...args].join(' ')} failed; install ${packages.join(' and ')} by hand`);
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface NginxProcess {
  port: number;
  /** The master's pid. */
  pid: number;
  /** Worker pids: they do the serving, so their CPU is the server's. */
  workers: number[];
  child: ChildProcess;
  stop(): Promise<void>;
}

/** nginx strings: single-quoted, with `\n` for newlines; the bodies hold no `'`, `\` or `$`. */
function quoted(text: string): string {
  if (/['\\$]/.test(text)) throw new Error('nginx return text must not contain quote, backslash or $');
  return `'${text.replace(/\n/g, '\\n')}'`;
}

function commonConfig(dir: string): string {
  // As root, workers would switch to "nobody"; run them as the current user instead.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};\n` : '';
  return `${user}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; multi_accept on; }
`;
}

function httpCommon(dir: string): string {
  return `  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server_tokens off;
`;
}

/** The fake OpenAI upstream: fixed JSON at /v1/chat/completions, a fixed SSE stream at /sse/v1/chat/completions. */
export function upstreamConfig(dir: string, port: number): string {
  return `${commonConfig(dir)}http {
${httpCommon(dir)}  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = ${UPSTREAM_JSON_PATH} {
      default_type application/json;
      return 200 ${quoted(CHAT_COMPLETION)};
    }
    location = ${UPSTREAM_SSE_PATH} {
      default_type text/event-stream;
      return 200 ${quoted(CHAT_COMPLETION_SSE)};
    }
  }
}
`;
}

/** nginx as a plain reverse proxy in front of the upstream, with keep-alive connections to it. */
export function proxyConfig(dir: string, port: number, upstreamPort: number): string {
  return `${commonConfig(dir)}http {
${httpCommon(dir)}  upstream fake_openai {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://fake_openai;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /sse/ {
      proxy_pass http://fake_openai;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`${what} did not listen on port ${port}`);
}

/** Runs nginx in the foreground (`daemon off`) as a child, with its own prefix dir and config. */
export async function startNginx(
  name: string,
  config: (dir: string) => string,
  port: number,
  cpu?: number,
  prefix: readonly string[] = [],
): Promise<NginxProcess> {
  const dir = trackDir(mkdtempSync(path.join(tmpdir(), `tollgate-bench-nginx-${name}-`)));
  mkdirSync(path.join(dir, 'logs'));
  const confPath = path.join(dir, 'nginx.conf');
  writeFileSync(confPath, config(dir));
  const argv = [NGINX, '-p', dir, '-c', confPath, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'];
  const [cmd, ...args] = [...prefix, ...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]), ...argv];
  const child = track(spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  const what = `nginx (${name})`;
  await waitForPort(port, child, what);
  let workers: number[] = [];
  for (let i = 0; i < 100 && workers.length === 0; i++) {
    workers = childPids(child.pid!);
    if (workers.length === 0) await sleep(10);
  }
  if (workers.length === 0) throw new Error(`${what}: no worker process found`);
  workers.forEach(trackPid);
  return {
    port,
    pid: child.pid!,
    workers,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM'); // fast shutdown: the master stops its workers
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          for (const w of workers) {
            try {
              process.kill(w, 'SIGKILL');
            } catch {
              // gone
            }
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
      // The workers exit with their master; wait briefly so none is left behind.
      for (let i = 0; i < 100 && workers.some((w) => existsSync(`/proc/${w}`)); i++) await sleep(10);
      workers.forEach(untrackPid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
