import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify, { type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/controlplane/admin-routes.js';
import { startGateway, type TestGateway } from '../support/harness.js';

interface Operation {
  summary: string;
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: { 'application/json': { schema: Record<string, unknown> } } };
  responses: Record<string, unknown>;
  'x-permission': string;
  security?: unknown[];
}
interface Reference {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** Every admin route as fastify registers it, with whether it declares a reference entry. */
async function registeredAdminRoutes(): Promise<{ method: string; url: string; documented: boolean }[]> {
  const app = Fastify();
  const routes: { method: string; url: string; documented: boolean }[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, documented: r.config?.doc !== undefined });
  });
  const deps = { store: { usage: {} } } as unknown as Parameters<typeof adminRoutes>[1];
  await app.register(adminRoutes, { ...deps, prefix: '/admin/v1' });
  await app.ready();
  await app.close();
  return routes;
}

let gw: TestGateway;
let reference: Reference;

beforeAll(async () => {
  gw = await startGateway();
  // The reference needs no token: tools and the console's link fetch it as is.
  const res = await fetch(`${gw.url}/admin/v1/openapi.json`);
  expect(res.status).toBe(200);
  reference = (await res.json()) as Reference;
});
afterAll(async () => {
  await gw?.close();
});

describe('the admin API reference (GET /admin/v1/openapi.json)', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(reference.openapi).toBe('3.1.0');
    const result = await new Validator().validate(reference as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every registered admin route, each with its own summary', async () => {
    const routes = await registeredAdminRoutes();
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => !r.documented).map((r) => `${r.method} ${r.url}`)).toEqual([]);
    for (const { method, url } of routes) {
      const path = url.slice('/admin/v1'.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = reference.paths[path]?.[method.toLowerCase()];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.summary).not.toBe('Undocumented route');
    }
    const documented = Object.values(reference.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(documented).toBe(routes.length);
  });

  it('describes bodies and queries with the schemas the routes parse with', () => {
    const createGateway = reference.paths['/gateways']!.post!;
    const body = createGateway.requestBody!.content['application/json'].schema as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(body.required).toEqual(expect.arrayContaining(['name', 'resource', 'instance']));
    expect(body.additionalProperties).toBe(false);
    expect(createGateway['x-permission']).toBe('manage-gateways');
    expect(Object.keys(createGateway.responses)).toContain('201');
    const logs = reference.paths['/gateways/{g}/logs']!.get!;
    expect(logs.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['path:g', 'query:cursor', 'query:limit', 'query:outcome']));
    expect(reference.paths['/openapi.json']!.get!.security).toEqual([]);
  });

  it('and the body schema refuses what the route refuses: an unknown field is a 400 naming it', async () => {
    const res = await gw.admin('POST', '/instances', { name: 'spare', colour: 'blue' });
    expect(res.status).toBe(400);
    const schema = reference.paths['/instances']!.post!.requestBody!.content['application/json'].schema;
    expect(schema.additionalProperties).toBe(false);
  });
});
