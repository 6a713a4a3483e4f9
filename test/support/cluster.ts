import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { loadSettings } from '../../src/config/settings.js';
import { createTollgate, type Tollgate } from '../../src/server/app.js';
import { ADMIN_TOKEN, SECRET_KEY } from './harness.js';

export interface ClusterNode {
  tollgate: Tollgate;
  url: string;
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** A cluster node in this process: PostgreSQL store, Redis limiter, port 0. */
export async function startNode(options: {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  instance: string;
  settings?: Record<string, unknown>;
}): Promise<ClusterNode> {
  const settings = loadSettings(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      dataDir: ':memory:',
      logLevel: 'silent',
      adminToken: ADMIN_TOKEN,
      secretKey: SECRET_KEY,
      databaseUrl: options.databaseUrl,
      redisUrl: options.redisUrl,
      redisPrefix: options.redisPrefix,
      heartbeatMs: 200,
      ledgerFlushMs: 50,
      ledgerRollupMs: 50,
      ...options.settings,
    },
  );
  const tollgate = await createTollgate({ settings, served: new Set([options.instance]), logger: pino({ level: 'silent' }) });
  if (!(await tollgate.store.findInstance(options.instance))) {
    await tollgate.service.instances
      .create({ id: 'test', name: 'test', role: 'owner', resources: null }, options.instance)
      .catch(() => undefined); // another node registered it first
  }
  const url = (await tollgate.listen()).replace('localhost', '127.0.0.1');
  return {
    tollgate,
    url,
    async admin(method, path, body) {
      const res = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    close: () => tollgate.close(),
  };
}

export const uniquePrefix = () => `tollgate-test-${randomBytes(6).toString('hex')}:`;

/** Polls until check() holds, at most `withinMs`; returns the time it took. */
export async function within(withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < withinMs) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`condition not met within ${withinMs} ms`);
}
