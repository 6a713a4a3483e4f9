import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../support/harness.js';

/**
 * Role checks of the admin API: owner all; gateway-admin instances, gateways, limits and a gateway's
 * projects; project-admin projects and keys of granted resources; viewer reads only.
 */

type Who = 'owner' | 'gatewayAdmin' | 'projectAdmin' | 'projectAdminNone' | 'viewer';
const WHO: readonly Who[] = ['owner', 'gatewayAdmin', 'projectAdmin', 'projectAdminNone', 'viewer'];
const ROLE_OF: Record<Who, string> = {
  owner: 'owner',
  gatewayAdmin: 'gateway-admin',
  projectAdmin: 'project-admin',
  projectAdminNone: 'project-admin',
  viewer: 'viewer',
};

let gw: TestGateway;
const tokens = {} as Record<Who, string>;
const tokenIds = {} as Record<Who, string>;

/** Calls as one principal. */
const as = (who: Who, method: string, path: string, body?: unknown) => gw.admin(method, path, body, tokens[who]);

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const res = await gw.admin(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
}

beforeAll(async () => {
  gw = await startGateway();
  tokens.owner = ADMIN_TOKEN;
  const created = [
    ['gatewayAdmin', { name: 'gw-admin', role: 'gateway-admin' }],
    ['projectAdmin', { name: 'proj-admin', role: 'project-admin', resources: ['granted'] }],
    ['projectAdminNone', { name: 'proj-admin-none', role: 'project-admin', resources: [] }],
    ['viewer', { name: 'watcher', role: 'viewer' }],
  ] as const;
  for (const [who, body] of created) {
    const res = await gw.admin('POST', '/tokens', body);
    if (res.status !== 201) throw new Error(`token ${who}: ${res.status} ${JSON.stringify(res.body)}`);
    tokens[who] = res.body.token;
    tokenIds[who] = res.body.id;
  }

  // resource "granted" (the project-admin's) and "other", each with a deployment
  for (const r of ['granted', 'other']) {
    await ok('POST', '/resources', { name: r });
    await ok('POST', `/resources/${r}/deployments`, { name: 'sim', provider: 'simulated' });
  }
  await ok('POST', '/resources/granted/projects', { name: 'before-gw' });
  await ok('POST', '/resources/other/projects', { name: 'other-p' });
  await ok('POST', '/gateways', { name: 'gw-granted', resource: 'granted', instance: { mode: 'new' } });
  await ok('POST', '/gateways', { name: 'gw-other', resource: 'other', instance: { mode: 'new' } });
  // per-principal fixtures, so every principal meets the same situation
  for (const who of WHO) {
    const w = who.toLowerCase();
    await ok('POST', '/resources/granted/projects', { name: `del-${w}` });
    await ok('POST', '/resources/other/projects', { name: `odel-${w}` });
    await ok('POST', '/resources/granted/projects', { name: `lim-${w}` });
    await ok('POST', '/resources/granted/deployments', { name: `dep-${w}`, provider: 'simulated' });
    await ok('POST', '/resources', { name: `gwres-${w}` });
    await ok('POST', '/resources', { name: `delres-${w}` });
    await ok('POST', '/resources', { name: `delgwres-${w}` });
    await ok('POST', '/gateways', { name: `delgw-${w}`, resource: `delgwres-${w}`, instance: { mode: 'new' } });
  }
});

afterAll(async () => {
  await gw?.close();
});

describe('admin tokens', () => {
  it('POST /tokens answers the token once; lists show only a hint', async () => {
    const res = await gw.admin('POST', '/tokens', { name: 'ci-bot', role: 'viewer' });
    const created = expectStatus(res, 201);
    expect(created).toMatchObject({ name: 'ci-bot', role: 'viewer', resources: null });
    expect(created.token).toMatch(/^tga_/);
    expect(created.hint).toBe(created.token.slice(0, 8));
    const list = expectStatus(await gw.admin('GET', '/tokens'), 200);
    const row = list.items.find((t: { id: string }) => t.id === created.id);
    expect(row).toMatchObject({ name: 'ci-bot', role: 'viewer', hint: created.hint });
    expect(row).not.toHaveProperty('token');
    expect(JSON.stringify(list)).not.toContain(created.token);
    expect(JSON.stringify(await gw.tollgate.store.listAdminTokens())).not.toContain(created.token);
  });

  it('keeps the resources of a project-admin token and drops them for other roles', async () => {
    const list = expectStatus(await gw.admin('GET', '/tokens'), 200);
    expect(list.items.find((t: { name: string }) => t.name === 'proj-admin')).toMatchObject({ role: 'project-admin', resources: ['granted'] });
    const gwAdmin = expectStatus(await gw.admin('POST', '/tokens', { name: 'gw2', role: 'gateway-admin', resources: ['granted'] }), 201);
    expect(gwAdmin.resources).toBeNull();
  });

  it('refuses bad token bodies', async () => {
    expect(expectError(await gw.admin('POST', '/tokens', { name: 'x', role: 'root' }), 400, 'validation_failed')).toMatch(/^role: /);
    expectError(await gw.admin('POST', '/tokens', { role: 'viewer' }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/tokens', { name: '', role: 'viewer' }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/tokens', { name: 'x', role: 'project-admin', resources: ['Bad Name'] }), 400, 'validation_failed');
    expect(expectError(await gw.admin('POST', '/tokens', { name: 'x', role: 'viewer', token: 'tga_mine' }), 400, 'validation_failed')).toContain(
      '"token"',
    );
  });

  it('/whoami tells each principal its role and resources', async () => {
    expect(expectStatus(await as('gatewayAdmin', 'GET', '/whoami'), 200)).toEqual({ name: 'gw-admin', role: 'gateway-admin', resources: null });
    expect(expectStatus(await as('projectAdmin', 'GET', '/whoami'), 200)).toEqual({
      name: 'proj-admin',
      role: 'project-admin',
      resources: ['granted'],
    });
    expect(expectStatus(await as('viewer', 'GET', '/whoami'), 200)).toEqual({ name: 'watcher', role: 'viewer', resources: null });
  });

  it('a revoked token is refused with 401 on its next request; a token cannot revoke itself', async () => {
    const victim = expectStatus(await gw.admin('POST', '/tokens', { name: 'temp', role: 'owner' }), 201);
    expect(expectStatus(await gw.admin('GET', '/whoami', undefined, victim.token), 200).name).toBe('temp');
    expectError(await gw.admin('DELETE', `/tokens/${victim.id}`, undefined, victim.token), 400, 'validation_failed');
    expect((await gw.admin('DELETE', `/tokens/${victim.id}`)).status).toBe(204);
    expectError(await gw.admin('GET', '/whoami', undefined, victim.token), 401, 'unauthorized');
    expectError(await gw.admin('DELETE', `/tokens/${victim.id}`), 404, 'not_found');
    const entry = (await gw.tollgate.store.listAudit({ limit: 500 })).find((e) => e.action === 'admin-token.delete' && e.target === `tokens/${victim.id}`);
    expect(entry?.actor).toBe('env:TOLLGATE_ADMIN_TOKEN');
  });

  it('answers 401 unauthorized without or with a wrong token, on reads and writes alike', async () => {
    for (const [method, path] of [
      ['GET', '/resources'],
      ['GET', '/whoami'],
      ['POST', '/resources'],
      ['DELETE', '/gateways/gw-granted'],
    ] as const) {
      const res = await fetch(`${gw.url}/admin/v1${path}`, { method });
      expectError({ status: res.status, body: await res.json() }, 401, 'unauthorized');
      expectError(await gw.admin(method, path, undefined, 'tga_wrong-token-00000000000'), 401, 'unauthorized');
      expectError(await gw.admin(method, path, undefined, ''), 401, 'unauthorized');
    }
    expectStatus(await gw.admin('GET', '/gateways/gw-granted'), 200);
  });
});

interface Case {
  what: string;
  method: string;
  path: (w: string) => string;
  body?: (w: string) => unknown;
  /** Expected status per principal; a 403 is checked to be `forbidden`. */
  expect: Record<Who, number>;
}

const ALL = (status: number): Record<Who, number> => ({
  owner: status,
  gatewayAdmin: status,
  projectAdmin: status,
  projectAdminNone: status,
  viewer: status,
});
const OWNER_ONLY = (status: number): Record<Who, number> => ({ ...ALL(403), owner: status });
const GATEWAY_ADMINS = (status: number): Record<Who, number> => ({ ...ALL(403), owner: status, gatewayAdmin: status });
const GRANTED_PROJECT_ADMINS = (status: number): Record<Who, number> => ({ ...ALL(403), owner: status, projectAdmin: status });

const CASES: Case[] = [
  // reads: every role
  { what: 'list instances', method: 'GET', path: () => '/instances', expect: ALL(200) },
  { what: 'list resources', method: 'GET', path: () => '/resources', expect: ALL(200) },
  { what: 'read a resource', method: 'GET', path: () => '/resources/other', expect: ALL(200) },
  { what: 'list deployments', method: 'GET', path: () => '/resources/other/deployments', expect: ALL(200) },
  { what: 'read a deployment', method: 'GET', path: () => '/resources/other/deployments/sim', expect: ALL(200) },
  { what: 'list projects', method: 'GET', path: () => '/resources/other/projects', expect: ALL(200) },
  { what: 'read a project', method: 'GET', path: () => '/resources/other/projects/other-p', expect: ALL(200) },
  { what: 'list gateways', method: 'GET', path: () => '/gateways', expect: ALL(200) },
  { what: 'read a gateway', method: 'GET', path: () => '/gateways/gw-granted', expect: ALL(200) },
  { what: "list a gateway's projects", method: 'GET', path: () => '/gateways/gw-granted/projects', expect: ALL(200) },
  { what: 'list limits', method: 'GET', path: () => '/gateways/gw-granted/limits', expect: ALL(200) },
  { what: 'read the audit log', method: 'GET', path: () => '/audit', expect: ALL(200) },

  // instances and gateways: owner and gateway-admin
  { what: 'create an instance', method: 'POST', path: () => '/instances', body: (w) => ({ name: `inst-${w}` }), expect: GATEWAY_ADMINS(201) },
  {
    what: 'create a gateway',
    method: 'POST',
    path: () => '/gateways',
    body: (w) => ({ name: `gw-${w}`, resource: `gwres-${w}`, instance: { mode: 'new' } }),
    expect: GATEWAY_ADMINS(201),
  },
  { what: 'delete a gateway', method: 'DELETE', path: (w) => `/gateways/delgw-${w}`, expect: GATEWAY_ADMINS(204) },
  { what: 'add a project to a gateway', method: 'PUT', path: () => '/gateways/gw-granted/projects/before-gw', expect: GATEWAY_ADMINS(200) },
  { what: 'disable a project on a gateway', method: 'DELETE', path: () => '/gateways/gw-granted/projects/before-gw', expect: GATEWAY_ADMINS(200) },
  {
    what: 'create a limit',
    method: 'POST',
    path: () => '/gateways/gw-granted/limits',
    body: (w) => ({ project: `lim-${w}`, tokensPerMinute: 100 }),
    expect: GATEWAY_ADMINS(201),
  },

  // resources and deployments: owner only
  { what: 'create a resource', method: 'POST', path: () => '/resources', body: (w) => ({ name: `res-${w}` }), expect: OWNER_ONLY(201) },
  { what: 'patch a resource', method: 'PATCH', path: () => '/resources/granted', body: (w) => ({ description: w }), expect: OWNER_ONLY(200) },
  { what: 'delete a resource', method: 'DELETE', path: (w) => `/resources/delres-${w}`, expect: OWNER_ONLY(204) },
  {
    what: 'create a deployment',
    method: 'POST',
    path: () => '/resources/granted/deployments',
    body: (w) => ({ name: `new-${w}`, provider: 'simulated' }),
    expect: OWNER_ONLY(201),
  },
  {
    what: 'patch a deployment',
    method: 'PATCH',
    path: () => '/resources/granted/deployments/sim',
    body: () => ({ upstreamModel: 'm' }),
    expect: OWNER_ONLY(200),
  },
  { what: 'delete a deployment', method: 'DELETE', path: (w) => `/resources/granted/deployments/dep-${w}`, expect: OWNER_ONLY(204) },

  // projects and keys: owner, and project-admins on their granted resources
  {
    what: 'create a project on a granted resource',
    method: 'POST',
    path: () => '/resources/granted/projects',
    body: (w) => ({ name: `new-${w}` }),
    expect: GRANTED_PROJECT_ADMINS(201),
  },
  {
    what: 'create a project on another resource',
    method: 'POST',
    path: () => '/resources/other/projects',
    body: (w) => ({ name: `new-${w}` }),
    expect: OWNER_ONLY(201),
  },
  { what: 'delete a project on a granted resource', method: 'DELETE', path: (w) => `/resources/granted/projects/del-${w}`, expect: GRANTED_PROJECT_ADMINS(204) },
  { what: 'delete a project on another resource', method: 'DELETE', path: (w) => `/resources/other/projects/odel-${w}`, expect: OWNER_ONLY(204) },
  {
    what: 'regenerate a key on a granted resource',
    method: 'POST',
    path: () => '/resources/granted/projects/before-gw/keys/secondary/regenerate',
    expect: GRANTED_PROJECT_ADMINS(200),
  },
  {
    what: 'regenerate a key on another resource',
    method: 'POST',
    path: () => '/resources/other/projects/other-p/keys/primary/regenerate',
    expect: OWNER_ONLY(200),
  },

  // admin tokens: owner only
  { what: 'list admin tokens', method: 'GET', path: () => '/tokens', expect: OWNER_ONLY(200) },
  { what: 'create an admin token', method: 'POST', path: () => '/tokens', body: (w) => ({ name: `t-${w}`, role: 'owner' }), expect: OWNER_ONLY(201) },
];

describe.each(CASES)('$what: $method', (c) => {
  it.each(WHO)('as %s', async (who) => {
    const w = who.toLowerCase();
    const res = await as(who, c.method, c.path(w), c.body?.(w));
    const expected = c.expect[who];
    if (expected === 403) {
      const msg = expectError(res, 403, 'forbidden');
      expect(msg).toContain(`the ${ROLE_OF[who]} role`);
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(expected);
    }
  });
});

describe('a refused change has no effect', () => {
  it('forbidden creates leave nothing behind', async () => {
    expectError(await gw.admin('GET', '/resources/res-viewer'), 404, 'not_found');
    expectError(await gw.admin('GET', '/resources/res-gatewayadmin'), 404, 'not_found');
    expectError(await gw.admin('GET', '/resources/res-projectadmin'), 404, 'not_found');
    expectError(await gw.admin('GET', '/resources/other/projects/new-projectadmin'), 404, 'not_found');
    expectError(await gw.admin('GET', '/gateways/gw-viewer'), 404, 'not_found');
    expectError(await gw.admin('GET', '/gateways/gw-projectadmin'), 404, 'not_found');
    const instances = expectStatus(await gw.admin('GET', '/instances'), 200);
    expect(instances.items.map((i: { name: string }) => i.name)).not.toContain('inst-viewer');
  });

  it('forbidden deletes leave the thing in place', async () => {
    expectStatus(await gw.admin('GET', '/resources/other/projects/odel-projectadmin'), 200);
    expectStatus(await gw.admin('GET', '/resources/granted/projects/del-viewer'), 200);
    expectStatus(await gw.admin('GET', '/resources/granted/projects/del-gatewayadmin'), 200);
    expectStatus(await gw.admin('GET', '/gateways/delgw-viewer'), 200);
    expectStatus(await gw.admin('GET', '/resources/delres-gatewayadmin'), 200);
  });

  it('the role check comes before validation: a viewer gets 403, not 400', async () => {
    expectError(await as('viewer', 'POST', '/resources', { name: 'NOT VALID', junk: true }), 403, 'forbidden');
    expectError(await as('projectAdmin', 'POST', '/gateways', {}), 403, 'forbidden');
  });

  it('a project-admin is refused on another resource with a message naming it', async () => {
    const msg = expectError(await as('projectAdmin', 'POST', '/resources/other/projects', { name: 'sneaky' }), 403, 'forbidden');
    expect(msg).toContain('"other"');
    expect(msg).toContain('proj-admin');
  });
});

describe('limits by role', () => {
  let limitId: string;

  beforeAll(async () => {
    await ok('POST', '/resources/granted/projects', { name: 'lim-target' });
    const res = await gw.admin('POST', '/gateways/gw-granted/limits', { project: 'lim-target', tokensPerMinute: 10 });
    limitId = res.body.id;
  });

  it('gateway-admin patches and deletes limits; others cannot', async () => {
    for (const who of ['projectAdmin', 'projectAdminNone', 'viewer'] as const) {
      expectError(await as(who, 'PATCH', `/gateways/gw-granted/limits/${limitId}`, { tokensPerMinute: 20 }), 403, 'forbidden');
      expectError(await as(who, 'DELETE', `/gateways/gw-granted/limits/${limitId}`), 403, 'forbidden');
    }
    expect(expectStatus(await as('viewer', 'GET', `/gateways/gw-granted/limits/${limitId}`), 200).tokensPerMinute).toBe(10);
    expect(expectStatus(await as('gatewayAdmin', 'PATCH', `/gateways/gw-granted/limits/${limitId}`, { tokensPerMinute: 20 }), 200).tokensPerMinute).toBe(20);
    expect((await as('gatewayAdmin', 'DELETE', `/gateways/gw-granted/limits/${limitId}`)).status).toBe(204);
    expectError(await gw.admin('GET', `/gateways/gw-granted/limits/${limitId}`), 404, 'not_found');
  });
});

describe('the audit log names who did it', () => {
  it('records each principal as the actor of its own changes', async () => {
    const entries = await gw.tollgate.store.listAudit({ limit: 1000 });
    const find = (action: string, target: string) => entries.find((e) => e.action === action && e.target === target);
    expect(find('instance.create', 'instances/inst-gatewayadmin')?.actor).toBe('gw-admin');
    expect(find('gateway.create', 'gateways/gw-gatewayadmin')?.actor).toBe('gw-admin');
    expect(find('project.create', 'resources/granted/projects/new-projectadmin')?.actor).toBe('proj-admin');
    expect(find('project.delete', 'resources/granted/projects/del-projectadmin')?.actor).toBe('proj-admin');
    const regenerations = entries.filter((e) => e.action === 'project.key.regenerate' && e.target === 'resources/granted/projects/before-gw/keys/secondary');
    expect(regenerations.map((e) => e.actor).sort()).toEqual(['env:TOLLGATE_ADMIN_TOKEN', 'proj-admin']);
    expect(find('resource.create', 'resources/res-owner')?.actor).toBe('env:TOLLGATE_ADMIN_TOKEN');
    // refused requests wrote nothing
    expect(find('instance.create', 'instances/inst-viewer')).toBeUndefined();
    expect(entries.filter((e) => e.actor === 'watcher')).toEqual([]);
  });
});

describe('revoking a token takes effect at once', () => {
  it('the gateway-admin is refused after its token is deleted', async () => {
    expectStatus(await as('gatewayAdmin', 'GET', '/whoami'), 200);
    expect((await gw.admin('DELETE', `/tokens/${tokenIds.gatewayAdmin}`)).status).toBe(204);
    expectError(await as('gatewayAdmin', 'GET', '/whoami'), 401, 'unauthorized');
    expectError(await as('gatewayAdmin', 'POST', '/instances', { name: 'too-late' }), 401, 'unauthorized');
  });
});
