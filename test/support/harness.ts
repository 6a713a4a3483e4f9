import pino, { type Logger } from 'pino';
import { loadSettings } from '../../src/config/settings.js';
import type { Limiter } from '../../src/limits/limiter.js';
import { createTollgate, type Tollgate } from '../../src/server/app.js';

export const ADMIN_TOKEN = 'tga_test-owner-token-0123456789';
/** A fixed 32-byte key so tests never write a key file. */
export const SECRET_KEY = '11'.repeat(32);

export interface TestGateway {
  tollgate: Tollgate;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Admin API call with the owner token (or another one); answers status and parsed JSON. */
  admin<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

/** Starts a real gateway on 127.0.0.1, port 0, with an in-memory SQLite store (and a silent log). */
export async function startGateway(overrides: Record<string, unknown> = {}, parts: { limiter?: Limiter; logger?: Logger } = {}): Promise<TestGateway> {
  const settings = loadSettings(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      dataDir: ':memory:',
      logLevel: 'silent',
      adminToken: ADMIN_TOKEN,
      secretKey: SECRET_KEY,
      configPollMs: 200,
      ...overrides,
    },
  );
  const tollgate = await createTollgate({ settings, served: 'all', logger: pino({ level: 'silent' }), ...parts });
  const url = (await tollgate.listen()).replace('localhost', '127.0.0.1');
  return {
    tollgate,
    url,
    async admin(method, path, body, token = ADMIN_TOKEN) {
      const res = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
    close: () => tollgate.close(),
  };
}

export interface Seeded {
  resource: string;
  deployment: string;
  gateway: string;
  project: string;
  key: string;
  secondaryKey: string;
}

/**
 * Resource `r1` with a simulated deployment `sim-chat`, gateway `gw1` (new instance) and an enabled
 * project `p1`. Options go to the simulated deployment.
 */
export async function seedBasic(gw: TestGateway, simOptions: Record<string, unknown> = {}): Promise<Seeded> {
  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
  ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-chat', provider: 'simulated', options: simOptions }), 'deployment');
  ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
  const project = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p1' }), 'project');
  return {
    resource: 'r1',
    deployment: 'sim-chat',
    gateway: 'gw1',
    project: 'p1',
    key: project.keys.primary,
    secondaryKey: project.keys.secondary,
  };
}

/** The key the ledger files a gateway's rows under: its id (names can be reused after a delete). */
export async function ledgerKey(gw: TestGateway, name = 'gw1'): Promise<string> {
  const gateway = await gw.tollgate.store.findGateway(name);
  if (!gateway) throw new Error(`no gateway "${name}"`);
  return gateway.id;
}
