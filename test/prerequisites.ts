import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import { ADMIN_URL } from './support/postgres.js';

/**
 * Vitest global setup: what the suite needs outside node_modules, checked before any test runs.
 * What it can set up itself it does, as .ci/run does (start an installed PostgreSQL or Redis that
 * is down; install Debian's chromium when running as root); what it cannot it names, one line
 * each with how to get it, instead of a hundred failures that each say less.
 */

const REDIS = { host: '127.0.0.1', port: 6379 };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

export async function setup(): Promise<void> {
  if (process.env.TOLLGATE_TEST_SKIP_PREREQUISITES === '1') return;
  const problems = (await Promise.all([postgres(), redis(), chromium()])).filter((p): p is string => p !== null);
  if (problems.length === 0) return;
  const message =
    `the test suite needs what this machine lacks:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
    '(README.md, "Running the tests"; TOLLGATE_TEST_SKIP_PREREQUISITES=1 runs anyway, and the tests that need them fail)';
  // A run of chosen files may not need them all: say so, and let those files tell.
  if (chosenFiles()) process.stderr.write(`warning: ${message}\n`);
  else throw new Error(message);
}

/** Whether vitest was given files or name filters (`vitest run test/x.test.ts`), not the whole suite. */
function chosenFiles(): boolean {
  return process.argv.slice(2).some((arg) => !arg.startsWith('-') && arg !== 'run' && !arg.endsWith('vitest') && !arg.endsWith('vitest.mjs'));
}

async function postgresAnswers(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

async function postgres(): Promise<string | null> {
  if ((await postgresAnswers()) === null) return null;
  // Installed but stopped (a fresh container): start it, as .ci/run does.
  if (has('pg_ctlcluster') && existsSync('/etc/postgresql')) {
    for (const version of readdirSync('/etc/postgresql')) {
      spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
    }
    for (let i = 0; i < 20; i++) {
      if ((await postgresAnswers()) === null) return null;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const why = await postgresAnswers();
  return `PostgreSQL: no server answers at ${ADMIN_URL} (${why}). Install and start one with trust auth for 127.0.0.1 (Debian: apt-get install postgresql), or set TOLLGATE_TEST_POSTGRES_URL to a superuser URL`;
}

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(REDIS);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function redis(): Promise<string | null> {
  const binary = has('redis-server');
  if (!(await redisAnswers()) && binary) {
    // Down but installed: start a throwaway one on the shared port, as .ci/run does.
    spawnSync('redis-server', ['--daemonize', 'yes', '--bind', REDIS.host, '--port', String(REDIS.port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 20 && !(await redisAnswers()); i++) await new Promise((r) => setTimeout(r, 250));
  }
  if (!binary) return 'Redis: redis-server is not installed (the Redis-restart tests start their own). Debian: apt-get install redis-server';
  if (!(await redisAnswers())) return `Redis: nothing answers PING at ${REDIS.host}:${REDIS.port}. Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379`;
  return null;
}

function chromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  if (isRoot && CHROMIUM === '/usr/bin/chromium' && has('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
    } catch {
      // Named below.
    }
    if (existsSync(CHROMIUM)) return null;
  }
  return `Chromium: not found at ${CHROMIUM} (the console tests drive it). Debian: apt-get install chromium (as root; this setup does it when run as root), or set CHROMIUM_PATH`;
}
