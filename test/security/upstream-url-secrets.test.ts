import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasUrlSecrets, isRedactedUrl, redactUrl } from '../../src/security/url-secrets.js';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startGateway, type TestGateway } from '../support/harness.js';

describe('redactUrl', () => {
  it('hides users, passwords and query values, and nothing else', () => {
    expect(redactUrl('https://bob:s3cret@llm.internal:8443/v1?key=abc&region=eu')).toBe('https://***:***@llm.internal:8443/v1?key=***&region=***');
    expect(redactUrl('https://llm.internal/v1')).toBe('https://llm.internal/v1');
    expect(hasUrlSecrets('https://llm.internal/v1')).toBe(false);
    expect(hasUrlSecrets('https://llm.internal/v1?key=abc')).toBe(true);
    expect(isRedactedUrl(redactUrl('https://bob:s3cret@llm.internal/v1'))).toBe(true);
    expect(isRedactedUrl('https://bob:s3cret@llm.internal/v1')).toBe(false);
  });
});

/** Credentials in an upstream URL are secrets: sealed, used upstream, never shown, logged or exported. */
describe('credentials in an upstream URL', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let url: string;
  let key: string;
  const secretUrl = () => url.replace('http://', 'http://bob:s3cret@') + '/v1?key=abc123';

  beforeAll(async () => {
    upstream = await startFakeUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatCompletion('m', 'hi')));
    });
    url = upstream.url;
    gw = await startGateway();
    expect((await gw.admin('POST', '/resources', { name: 'r' })).status).toBe(201);
    const created = await gw.admin('POST', '/resources/r/deployments', { name: 'self', provider: 'openai-compatible', upstreamUrl: secretUrl() });
    expect(created.status).toBe(201);
    expect(created.body.upstreamUrl).toBe(`${url.replace('http://', 'http://***:***@')}/v1?key=***`);
    expect((await gw.admin('POST', '/gateways', { name: 'g', resource: 'r', instance: { mode: 'new' } })).status).toBe(201);
    key = (await gw.admin('POST', '/resources/r/projects', { name: 'p' })).body.keys.primary;
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('reaches the upstream with them: the query as given, the user and password as Basic authentication', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: 'self', messages: [{ role: 'user', content: 'hi' }] });
    const seen = upstream.requests.at(-1)!;
    expect(seen.url).toBe('/v1/chat/completions?key=abc123');
    expect(seen.headers.authorization).toBe(`Basic ${Buffer.from('bob:s3cret').toString('base64')}`);
  });

  it('never shows them: deployment views, the audit log, the config export', async () => {
    for (const path of ['/resources/r/deployments/self', '/resources/r/deployments', '/audit', '/config']) {
      const text = JSON.stringify((await gw.admin('GET', path)).body);
      expect({ path, leaks: text.includes('s3cret') || text.includes('abc123') || text.includes('bob') }).toEqual({ path, leaks: false });
    }
  });

  it('keeps them when the redacted URL is given back, applies the export as no change, refuses a redacted URL for a new deployment', async () => {
    const shown = (await gw.admin('GET', '/resources/r/deployments/self')).body.upstreamUrl as string;
    expect((await gw.admin('PATCH', '/resources/r/deployments/self', { upstreamUrl: shown, upstreamModel: 'm2' })).status).toBe(200);
    const exported = (await gw.admin('GET', '/config')).body;
    expect((await gw.admin('PUT', '/config', exported)).body.changes).toEqual([]);
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    await client.chat.completions.create({ model: 'self', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.requests.at(-1)!.url).toBe('/v1/chat/completions?key=abc123');

    const copy = await gw.admin('POST', '/resources/r/deployments', { name: 'copy', provider: 'openai-compatible', upstreamUrl: shown });
    expect(copy.status).toBe(400);
    expect(copy.body.error.message).toContain('redacted credentials');
  });
});
