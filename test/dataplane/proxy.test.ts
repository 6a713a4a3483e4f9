import OpenAI, { AzureOpenAI } from 'openai';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendField } from '../../src/dataplane/proxy.js';
import { startGateway, type TestGateway } from '../support/harness.js';
import { chatCompletion, sseChunk, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';

/** Proxying to real (local) upstream servers: what goes upstream, what comes back, and when. */
describe('proxying to OpenAI-compatible and Azure OpenAI upstreams', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let key: string;
  /** Lets a test hold the upstream mid-stream until the client has seen the first chunk. */
  let releaseStream: (() => void) | null = null;
  let upstreamClosed: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    upstream = await startFakeUpstream(async (req, res, raw) => {
      const model = req.body?.model ?? 'azure-deployment';
      if (req.body?.stream) {
        upstreamClosed = new Promise((resolve) => res.on('close', () => resolve()));
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'up-123' });
        res.write(sseChunk(model, 'first'));
        await new Promise<void>((resolve) => {
          releaseStream = resolve;
          raw.socket.once('close', resolve);
        });
        if (res.destroyed) return;
        res.write(sseChunk(model, ' last', 'stop'));
        res.end('data: [DONE]\n\n');
        return;
      }
      if (req.body?.messages?.[0]?.content === 'upstream-400') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'bad thing', type: 'invalid_request_error', code: 'upstream_says_no' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'up-123', 'x-ratelimit-remaining-tokens': '999' });
      res.end(JSON.stringify(chatCompletion(model, 'proxied!')));
    });
    gw = await startGateway();
    await gw.admin('POST', '/resources', { name: 'r1' });
    const compat = await gw.admin('POST', '/resources/r1/deployments', {
      name: 'gpt-4.1',
      provider: 'openai-compatible',
      upstreamUrl: `${upstream.url}/v1`,
      upstreamModel: 'upstream-model-x',
      upstreamApiKey: 'sk-upstream-secret',
    });
    expect(compat.status).toBe(201);
    const az = await gw.admin('POST', '/resources/r1/deployments', {
      name: 'az-chat',
      provider: 'azure-openai',
      upstreamUrl: upstream.url,
      upstreamModel: 'my-azure-deployment',
      upstreamApiKey: 'azure-secret',
      apiVersion: '2024-06-01',
    });
    expect(az.status).toBe(201);
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.requests.length = 0;
  });

  it('forwards to the upstream with its own credential and model, not the client key', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const res = await client.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'client-req-42' } })
      .withResponse();
    expect(res.data.choices[0]!.message.content).toBe('proxied!');
    expect(res.response.headers.get('x-request-id')).toBe('client-req-42');
    expect(res.response.headers.get('x-upstream-request-id')).toBe('up-123');
    // The upstream's own rate-limit headers describe the gateway's key, not the client's.
    expect(res.response.headers.get('x-ratelimit-remaining-tokens')).not.toBe('999');

    const seen = upstream.requests[0]!;
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-upstream-secret');
    expect(seen.headers['api-key']).toBeUndefined();
    expect(seen.headers['x-request-id']).toBe('client-req-42');
    expect(seen.body.model).toBe('upstream-model-x');
    expect(JSON.stringify(seen.headers)).not.toContain(key);
  });

  it('forwards an unchanged body byte for byte (no re-serialising)', async () => {
    await gw.admin('POST', '/resources/r1/deployments', { name: 'same-name', provider: 'openai-compatible', upstreamUrl: `${upstream.url}/v1` });
    const raw = '{ "messages" : [ {"role":"user","content":"hi \\u00e9"} ],\n  "model": "same-name", "temperature": 0.50 }';
    const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(upstream.requests[0]!.raw).toBe(raw);
  });

  it('asks a stream for its usage by appending the option to the client\'s own text', async () => {
    await gw.admin('POST', '/resources/r1/deployments', { name: 'same-name-2', provider: 'openai-compatible', upstreamUrl: `${upstream.url}/v1` });
    const raw = '{ "messages" : [ {"role":"user","content":"hi \\u00e9"} ],\n  "model": "same-name-2", "stream": true, "temperature": 0.50 }\n';
    const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // the first chunk is in: let the upstream finish
    releaseStream!();
    while (!(await reader.read()).done);
    expect(upstream.requests[0]!.raw).toBe(`${raw.trimEnd().slice(0, -1)},"stream_options":{"include_usage":true}}`);
  });

  it('speaks Azure to an Azure upstream: deployment path, api-version and api-key', async () => {
    const client = new AzureOpenAI({ endpoint: gw.url, apiKey: key, apiVersion: '2024-10-21', maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'az-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]!.message.content).toBe('proxied!');
    const seen = upstream.requests[0]!;
    expect(seen.url).toBe('/openai/deployments/my-azure-deployment/chat/completions?api-version=2024-06-01');
    expect(seen.headers['api-key']).toBe('azure-secret');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('passes upstream errors through unchanged', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'upstream-400' }] }),
    ).rejects.toMatchObject({ status: 400, code: 'upstream_says_no' });
  });

  it('streams chunk by chunk: the client sees the first chunk before the upstream produces the last', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const parts: string[] = [];
    for await (const chunk of stream) {
      parts.push(chunk.choices[0]?.delta.content ?? '');
      // The upstream is parked until released: reaching here proves the first chunk was not buffered.
      if (parts.length === 1) releaseStream!();
    }
    expect(parts.join('')).toBe('first last');
  });

  it('aborts the upstream request when the client disconnects mid-stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('first');
    controller.abort();
    await upstreamClosed; // resolves only when the gateway closed its upstream request
    // The gateway still serves the next request.
    const next = await fetch(`${gw.url}/openai/v1/models`, { headers: { 'api-key': key } });
    expect(next.status).toBe(200);
  });
});

describe('upstream failures', () => {
  let gw: TestGateway;
  let silent: FakeUpstream;
  let key: string;

  beforeAll(async () => {
    // An upstream that accepts the request and never answers.
    silent = await startFakeUpstream(() => {});
    const closedPort = await freePort();
    gw = await startGateway({ upstreamTimeoutMs: 300 });
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/resources/r1/deployments', { name: 'down', provider: 'openai-compatible', upstreamUrl: `http://127.0.0.1:${closedPort}/v1` });
    await gw.admin('POST', '/resources/r1/deployments', { name: 'slow', provider: 'openai-compatible', upstreamUrl: `${silent.url}/v1` });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
  });
  afterAll(async () => {
    await gw.close();
    await silent.close();
  });

  const call = (model: string) =>
    fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('unreachable upstream → 502 upstream_error', async () => {
    const res = await call('down');
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_error');
    expect(body.error.message).toMatch(/could not be reached/);
  });

  it('upstream that does not answer in time → 504 upstream_timeout', async () => {
    const res = await call('slow');
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('appendField', () => {
  it('inserts a field before the closing brace, leaving the rest byte for byte', () => {
    expect(appendField('{"a":1}', 'b', { c: true })).toBe('{"a":1,"b":{"c":true}}');
    expect(appendField('{ "a" : [1, {"x":"}"}] }\r\n\t', 'b', 2)).toBe('{ "a" : [1, {"x":"}"}] ,"b":2}');
    expect(appendField('{ }', 'b', 2)).toBe('{ "b":2}');
  });
  it('refuses what is not an object\'s text', () => {
    expect(appendField('[1]', 'b', 2)).toBeNull();
    expect(appendField('', 'b', 2)).toBeNull();
    expect(appendField('}', 'b', 2)).toBeNull();
  });
});
