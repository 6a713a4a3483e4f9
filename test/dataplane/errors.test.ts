import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

interface ErrorJson {
  error: { message: string; type: string; code: string; param: string | null };
}

/** Every data-plane error row of DESIGN.md, in OpenAI's error dialect, and a healthy gateway after each. */
describe('data-plane errors', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let disabledKey: string;

  beforeAll(async () => {
    gw = await startGateway({ maxBodyBytes: 4096 });
    // A project created before the gateway exists stays disabled until added.
    await gw.admin('POST', '/resources', { name: 'r0' });
    disabledKey = (await gw.admin('POST', '/resources/r0/projects', { name: 'early' })).body.keys.primary;
    await gw.admin('POST', '/gateways', { name: 'gw0', resource: 'r0', instance: { mode: 'new' } });
    seeded = await seedBasic(gw);
  });
  afterAll(() => gw.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seeded.key}`, 'content-type': 'application/json', ...headers },
      body,
    });
  const chat = JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }] });

  async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(typeof body.error.type).toBe('string');
    // And the gateway still serves the next good request.
    expect((await post('/openai/v1/chat/completions', chat)).status).toBe(200);
    return body;
  }

  it('401 invalid_api_key: no key, unknown key', async () => {
    const none = await fetch(`${gw.url}/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat });
    expect((await expectError(none, 401, 'invalid_api_key')).error.message).toMatch(/No API key/);
    await expectError(await post('/openai/v1/chat/completions', chat, { authorization: 'Bearer tgk_unknown' }), 401, 'invalid_api_key');
    await expectError(await post('/openai/v1/chat/completions', chat, { authorization: '', 'api-key': 'tgk_unknown' }), 401, 'invalid_api_key');
  });

  it('403 project_not_enabled for a project not added to its gateway', async () => {
    const res = await post('/openai/v1/chat/completions', chat, { authorization: `Bearer ${disabledKey}` });
    expect((await expectError(res, 403, 'project_not_enabled')).error.message).toMatch(/gw0/);
  });

  it('404 deployment_not_found, naming what exists', async () => {
    const res = await post('/openai/v1/chat/completions', JSON.stringify({ model: 'gpt-5', messages: [] }));
    expect((await expectError(res, 404, 'deployment_not_found')).error.message).toMatch(/sim-chat/);
    await expectError(await post('/openai/deployments/nope/chat/completions?api-version=2024-10-21', chat), 404, 'deployment_not_found');
  });

  it('400 invalid_request: malformed JSON, wrong types, missing fields', async () => {
    await expectError(await post('/openai/v1/chat/completions', '{"model": "sim-chat", '), 400, 'invalid_request');
    await expectError(await post('/openai/v1/chat/completions', '[1,2]'), 400, 'invalid_request');
    const stream = await expectError(await post('/openai/v1/chat/completions', JSON.stringify({ model: 'sim-chat', messages: [], stream: 'yes' })), 400, 'invalid_request');
    expect(stream.error.param).toBe('stream');
    const max = await expectError(
      await post('/openai/v1/chat/completions', JSON.stringify({ model: 'sim-chat', messages: [], max_tokens: -3 })),
      400,
      'invalid_request',
    );
    expect(max.error.param).toBe('max_tokens');
    await expectError(await post('/openai/v1/chat/completions', JSON.stringify({ model: 'sim-chat' })), 400, 'invalid_request');
    await expectError(await post('/openai/v1/chat/completions', JSON.stringify({ messages: [] })), 400, 'invalid_request');
    await expectError(await post('/openai/v1/embeddings', JSON.stringify({ model: 'sim-chat', input: 42 })), 400, 'invalid_request');
  });

  it('413 request_too_large over the configured body size', async () => {
    const huge = JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'x'.repeat(8000) }] });
    await expectError(await post('/openai/v1/chat/completions', huge), 413, 'request_too_large');
  });

  it('413 for a chunked body (no Content-Length) that grows past the limit', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      // Chunks of 1 KiB, never more than 8: the server answers once the 5th crosses 4 KiB.
      let sent = 0;
      const more = () => {
        if (sent++ < 8 && !req.destroyed) req.write(`"${'x'.repeat(1022)}"`, () => setTimeout(more, 5));
        else req.end();
      };
      more();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error.code).toBe('request_too_large');
    expect((await post('/openai/v1/chat/completions', chat)).status).toBe(200);
  });

  it('a client that goes away while sending its body costs nothing and breaks nothing', async () => {
    const url = new URL(gw.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /openai/v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${seeded.key}\r\n` +
            'content-type: application/json\r\ncontent-length: 500\r\n\r\n{"model": "sim-',
          () => setTimeout(() => socket.destroy(), 20),
        );
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    expect((await post('/openai/v1/chat/completions', chat)).status).toBe(200);
  });

  it('Azure-style paths: an encoded deployment name, the api-version, and an empty one', async () => {
    const azure = (deployment: string) => post(`/openai/deployments/${deployment}/chat/completions?x=1&api-version=2024-10-21`, chat);
    expect((await azure('sim%2Dchat')).status).toBe(200);
    await expectError(await azure('%E0%A4%A'), 400, 'invalid_request'); // not percent-encoding
    await expectError(await post('/openai/deployments//chat/completions', chat), 404, 'route_not_found');
    await expectError(await post('/openai/deployments/sim-chat/images/generations', chat), 404, 'route_not_found');
  });

  it('GET /openai/v1/models lists the deployments of the project', async () => {
    const res = await fetch(`${gw.url}/openai/v1/models`, { headers: { authorization: `Bearer ${seeded.key}`, 'x-request-id': 'models-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('models-1');
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ id: 'sim-chat', object: 'model' }] });
    await expectError(await fetch(`${gw.url}/openai/v1/models`), 401, 'invalid_api_key');
  });

  it('404 route_not_found for unknown paths and methods', async () => {
    await expectError(await post('/openai/v1/nothing-here', chat), 404, 'route_not_found');
    await expectError(await fetch(`${gw.url}/openai/v1/chat/completions`), 404, 'route_not_found');
  });

  it('echoes a client request id, or makes one', async () => {
    const given = await post('/openai/v1/chat/completions', chat, { 'x-request-id': 'my-trace-1' });
    expect(given.headers.get('x-request-id')).toBe('my-trace-1');
    const made = await post('/openai/v1/chat/completions', chat, { 'x-request-id': 'bad id with spaces' });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('/healthz and /readyz answer', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { configVersion: number }).configVersion).toBeGreaterThan(1);
  });
});
