import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_SECURITY_HEADERS, consoleRoutes } from '../../src/server/console-routes.js';

/** The console's HTTP contract, on a stand-in build: files, SPA fallback, redirects, "not built". */
describe('console routes', () => {
  let dir: string;
  let built: FastifyInstance;
  let missing: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
    mkdirSync(join(dir, 'build', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'build', 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
    writeFileSync(join(dir, 'build', 'assets', 'index-abc123.js'), 'console.log("app")');
    writeFileSync(join(dir, 'secret.txt'), 'outside the build');
    built = Fastify();
    await built.register(consoleRoutes, { root: join(dir, 'build') });
    missing = Fastify();
    await missing.register(consoleRoutes, { root: join(dir, 'not-built') });
  });

  afterAll(async () => {
    await built.close();
    await missing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('redirects / and /console to /console/', async () => {
    for (const url of ['/', '/console']) {
      const res = await built.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode, location: res.headers.location }).toEqual({ url, status: 302, location: '/console/' });
    }
  });

  it('serves index.html at /console/ and for app routes, never cached', async () => {
    for (const url of ['/console/', '/console/gateways/gw1/limits', '/console/resources/r1']) {
      const res = await built.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain('<div id="root">');
    }
  });

  it('serves hashed assets as immutable, and a missing asset as 404 rather than the app', async () => {
    const asset = await built.inject({ method: 'GET', url: '/console/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect(asset.body).toBe('console.log("app")');

    const gone = await built.inject({ method: 'GET', url: '/console/assets/index-old.js' });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ error: { code: 'route_not_found' } });
  });

  it('never serves a file outside the build', async () => {
    for (const url of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt']) {
      const res = await built.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('outside the build');
    }
  });

  it('answers 503 with what to run when the console has not been built', async () => {
    const res = await missing.inject({ method: 'GET', url: '/console/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('npm run build:console');
    const route = await missing.inject({ method: 'GET', url: '/console/gateways' });
    expect(route.statusCode).toBe(503);
  });

  it('sends the security headers with every console answer: no foreign scripts, no framing, no sniffing, no referrer', async () => {
    for (const [app, url] of [[built, '/console/'], [built, '/console/assets/index-abc123.js'], [built, '/console/assets/missing.js'], [missing, '/console/']] as const) {
      const res = await app.inject({ method: 'GET', url });
      for (const [name, value] of Object.entries(CONSOLE_SECURITY_HEADERS)) expect({ url, name, value: res.headers[name] }).toEqual({ url, name, value });
    }
    expect(CONSOLE_SECURITY_HEADERS['content-security-policy']).toContain("script-src 'self';");
    expect(CONSOLE_SECURITY_HEADERS['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
