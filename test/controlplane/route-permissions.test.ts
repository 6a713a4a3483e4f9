import Fastify, { type RouteOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/controlplane/admin-routes.js';
import type { Principal } from '../../src/controlplane/permissions.js';
import { checkRoutePermission, requires, type RoutePermission } from '../../src/controlplane/route-permissions.js';
import { TollgateError } from '../../src/errors.js';

/** Every admin route as registered, with what it declares it requires. */
async function adminRouteTable(): Promise<{ route: string; access: RoutePermission | undefined }[]> {
  const app = Fastify();
  const routes: { route: string; access: RoutePermission | undefined }[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ route: `${method} ${r.url}`, access: r.config?.access });
  });
  // The handlers never run here: registration needs only the shape of the dependencies.
  const deps = { store: { usage: {} } } as unknown as Parameters<typeof adminRoutes>[1];
  await app.register(adminRoutes, { ...deps, prefix: '/admin/v1' });
  await app.ready();
  await app.close();
  return routes;
}

const principal = (role: Principal['role'], resources: string[] | null = null): Principal => ({ id: 'tok_1', name: 't', role, resources });

function refusal(run: () => void): TollgateError {
  try {
    run();
  } catch (err) {
    if (err instanceof TollgateError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('admin route permissions', () => {
  it('every registered admin route declares what it requires', async () => {
    const table = await adminRouteTable();
    expect(table.length).toBeGreaterThan(40);
    expect(table.filter((r) => r.access === undefined).map((r) => r.route)).toEqual([]);
    // Changes are never open to any signed-in token: only whoami and the config apply (which checks each change).
    expect(table.filter((r) => r.access?.permission === 'signed-in').map((r) => r.route).sort()).toEqual(['GET /admin/v1/whoami', 'PUT /admin/v1/config']);
    // Only the API reference is open without a token.
    expect(table.filter((r) => r.access?.permission === 'public').map((r) => r.route)).toEqual(['GET /admin/v1/openapi.json']);
    // A scoped permission names a parameter the route has.
    for (const { route, access } of table) {
      if (access && 'resourceParam' in access && access.resourceParam) expect(route).toContain(`:${access.resourceParam}`);
    }
  });

  it('reads need read, and every change a manage permission', async () => {
    for (const { route, access } of await adminRouteTable()) {
      if (route === 'GET /admin/v1/openapi.json') continue;
      if (route.startsWith('GET ') && route !== 'GET /admin/v1/whoami' && !route.includes('/tokens')) expect(access?.permission, route).toBe('read');
      if (!route.startsWith('GET ') && route !== 'PUT /admin/v1/config') expect(access?.permission, route).toMatch(/^manage-/);
    }
  });

  it('refuses a route that declares nothing, even to an owner (fail closed)', () => {
    const err = refusal(() => checkRoutePermission(principal('owner'), undefined, {}, 'GET /admin/v1/new-thing'));
    expect(err.code).toBe('forbidden');
    expect(err.message).toContain('GET /admin/v1/new-thing declares no permission');
  });

  it('checks resource-scoped permissions against the declared parameter', () => {
    const access = requires('manage-projects', 'r').access;
    const admin = principal('project-admin', ['granted']);
    expect(() => checkRoutePermission(admin, access, { r: 'granted' }, 'POST /x')).not.toThrow();
    const err = refusal(() => checkRoutePermission(admin, access, { r: 'other' }, 'POST /x'));
    expect(err.message).toBe('the project-admin role of admin token "t" does not allow manage projects on resource "other"');
    expect(() => checkRoutePermission(principal('viewer'), requires('signed-in').access, {}, 'GET /whoami')).not.toThrow();
    expect(refusal(() => checkRoutePermission(principal('viewer'), requires('manage-gateways').access, {}, 'POST /x')).code).toBe('forbidden');
  });
});
