import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { startGateway, type TestGateway } from '../support/harness.js';

const APP = 'https://app.example.com';
const OTHER = 'https://other.example.com';

/**
 * CORS on the data plane, off by default and per gateway (issue 15): preflights are answered for
 * origins some gateway lists, the request itself only for its project's gateway's origins, error
 * answers included, so a browser app can read why it was refused.
 */
describe('data plane CORS', () => {
  let gw: TestGateway;
  /** Keys of projects on gw-app (lists APP) and gw-other (lists OTHER only). */
  let appKey: string;
  let otherKey: string;

  const call = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'POST',
      headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : null };
  };
  const chat = (key: string, origin?: string, maxTokens = 5) =>
    call('/openai/v1/chat/completions', {
      headers: { authorization: `Bearer ${key}`, ...(origin ? { origin } : {}) },
      body: { model: 'sim', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens },
    });
  const preflight = (path: string, origin: string | null, requestHeaders = 'authorization, content-type') =>
    call(path, {
      method: 'OPTIONS',
      headers: { ...(origin ? { origin } : {}), 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
    });

  beforeAll(async () => {
    gw = await startGateway();
    for (const [gateway, resource] of [
      ['gw-app', 'app'],
      ['gw-other', 'other'],
    ] as const) {
      expectStatus(await gw.admin('POST', '/resources', { name: resource }), 201);
      expectStatus(await gw.admin('POST', `/resources/${resource}/deployments`, { name: 'sim', provider: 'simulated', options: { completionTokens: 5 } }), 201);
      expectStatus(await gw.admin('POST', '/gateways', { name: gateway, resource, instance: { mode: 'new' } }), 201);
    }
    appKey = expectStatus(await gw.admin('POST', '/resources/app/projects', { name: 'web' }), 201).keys.primary;
    otherKey = expectStatus(await gw.admin('POST', '/resources/other/projects', { name: 'web' }), 201).keys.primary;
    expectStatus(await gw.admin('POST', '/gateways/gw-app/limits', { project: 'web', tokensPerMinute: 1000 }), 201);
  });
  afterAll(() => gw.close());

  it('is off by default: a preflight is refused with no CORS headers', async () => {
    expect(expectStatus(await gw.admin('GET', '/gateways/gw-app'), 200).corsOrigins).toEqual([]);
    const res = await preflight('/openai/v1/chat/completions', APP);
    expectError(res, 403, 'cors_origin_not_allowed');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const served = await chat(appKey, APP);
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('takes exact origins, normalised, and refuses wildcards, paths and other schemes', async () => {
    const set = async (corsOrigins: unknown) => gw.admin('PATCH', '/gateways/gw-app', { corsOrigins });
    const wildcard = expectError(await set(['*']), 400, 'validation_failed');
    expect(wildcard).toMatch(/^corsOrigins\.0: /);
    expect(wildcard).toContain('bearer secrets');
    expect(expectError(await set(['https://*.example.com']), 400, 'validation_failed')).toContain('wildcards are not allowed');
    expect(expectError(await set([`${APP}/`]), 400, 'validation_failed')).toContain('no path');
    expect(expectError(await set([`${APP}/callback`]), 400, 'validation_failed')).toContain('no path');
    expect(expectError(await set(['ftp://files.example.com']), 400, 'validation_failed')).toMatch(/^corsOrigins\.0: .*not an origin/);
    expect(expectError(await set(['null']), 400, 'validation_failed')).toContain('not an origin');
    expect(expectError(await set([APP, 'app.example.com']), 400, 'validation_failed')).toMatch(/^corsOrigins\.1: /);
    expectError(await set(APP), 400, 'validation_failed');

    const viewer = expectStatus(await gw.admin('POST', '/tokens', { name: 'pa', role: 'project-admin', resources: ['app'] }), 201).token;
    expectError(await gw.admin('PATCH', '/gateways/gw-app', { corsOrigins: [APP] }, viewer), 403, 'forbidden');

    const updated = expectStatus(await set(['HTTPS://App.Example.com:443', APP, 'http://localhost:5173']), 200);
    expect(updated.corsOrigins).toEqual([APP, 'http://localhost:5173']);
    expect(expectStatus(await gw.admin('PATCH', '/gateways/gw-other', { corsOrigins: [OTHER] }), 200).corsOrigins).toEqual([OTHER]);
  });

  it('answers a preflight from a listed origin with what the official SDKs need', async () => {
    const sdkHeaders = 'authorization, content-type, x-stainless-os, x-stainless-retry-count, x-stainless-timeout, openai-project, x-made-up';
    const res = await preflight('/openai/v1/chat/completions', APP, sdkHeaders);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, GET, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type, x-stainless-os, x-stainless-retry-count, x-stainless-timeout, openai-project');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toContain('Origin');

    const anthropic = await preflight('/anthropic/v1/messages', APP, 'x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access, content-type');
    expect(anthropic.status).toBe(204);
    expect(anthropic.headers.get('access-control-allow-headers')).toBe('x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access, content-type');
    expect((await preflight('/openai/deployments/sim/chat/completions?api-version=2024-10-21', APP, 'api-key')).status).toBe(204);
    // A preflight carries no key: any gateway served here that lists the origin admits it.
    expect((await preflight('/openai/v1/models', OTHER)).status).toBe(204);
  });

  it('refuses a preflight from an origin no gateway lists, in the dialect of the path', async () => {
    const res = await preflight('/openai/v1/chat/completions', 'https://evil.example.com');
    expect(expectError(res, 403, 'cors_origin_not_allowed')).toContain('https://evil.example.com');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const anthropic = await preflight('/anthropic/v1/messages', 'https://evil.example.com');
    expect(anthropic.status).toBe(403);
    expect(anthropic.body).toMatchObject({ type: 'error', error: { code: 'cors_origin_not_allowed' } });
    // Not a preflight (no Origin): routed as before.
    expect((await preflight('/openai/v1/chat/completions', null)).status).toBe(404);
  });

  it("lets a listed origin read the answers about its gateway's projects, limit headers and errors included", async () => {
    const ok = await chat(appKey, APP);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('vary')).toBe('Origin');
    const exposed = ok.headers.get('access-control-expose-headers')?.split(', ') ?? [];
    for (const name of ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens', 'x-quota-remaining-tokens', 'x-tokens-consumed', 'x-request-id', 'retry-after']) {
      expect(exposed).toContain(name);
    }
    expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('1000');

    const tooBig = await chat(appKey, APP, 5000);
    expectError(tooBig, 429, 'token_rate_limit_exceeded');
    expect(tooBig.headers.get('access-control-allow-origin')).toBe(APP);

    const badKey = await chat('tgk_not-a-key', APP);
    expectError(badKey, 401, 'invalid_api_key');
    expect(badKey.headers.get('access-control-allow-origin')).toBe(APP);

    const models = await call('/openai/v1/models', { method: 'GET', headers: { authorization: `Bearer ${appKey}`, origin: APP } });
    expect(models.status).toBe(200);
    expect(models.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('does not let an origin read the answers of a gateway that does not list it', async () => {
    const res = await chat(otherKey, APP);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
    const models = await call('/openai/v1/models', { method: 'GET', headers: { authorization: `Bearer ${otherKey}`, origin: APP } });
    expect(models.headers.get('access-control-allow-origin')).toBeNull();
    // Its own origin, yes.
    expect((await chat(otherKey, OTHER)).headers.get('access-control-allow-origin')).toBe(OTHER);
    // And without an Origin, no CORS at all.
    const plain = await chat(appKey);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('vary')).toBeNull();
  });

  it('applies a change to the next request', async () => {
    expectStatus(await gw.admin('PATCH', '/gateways/gw-app', { corsOrigins: [] }), 200);
    expect((await chat(appKey, APP)).headers.get('access-control-allow-origin')).toBeNull();
    expectError(await preflight('/openai/v1/chat/completions', APP), 403, 'cors_origin_not_allowed');
  });
});
