import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/providers/cancellation.js';
import { dispatchPost } from '../../src/providers/http/dispatch.js';

/** An upstream whose answer each test scripts; it reports when a response was cut short. */
let server: Server;
let origin: string;
let script: (res: ServerResponse, body: string) => void = () => {};
const agent = new Agent({ keepAliveTimeout: 1_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => script(res, body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  server.close();
});

const post = (cancellation = new Cancellation(), timeoutMs = 5_000) =>
  dispatchPost(agent, { origin, path: '/v1/x?y=1', headers: ['content-type', 'application/json', 'x-test', '1'], body: '{"a":1}', timeoutMs }, cancellation);

describe('dispatchPost (undici dispatch API)', () => {
  it('sends the body and headers; resolves at the headers; the body follows chunk by chunk', async () => {
    let seen = '';
    script = (res, body) => {
      seen = body;
      res.writeHead(201, { 'content-type': 'text/event-stream', 'x-up': 'yes' });
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 20);
    };
    const response = await post();
    expect(response.status).toBe(201);
    expect(response.headers['x-up']).toBe('yes');
    const chunks: string[] = [];
    for await (const chunk of response.body) chunks.push(chunk.toString());
    expect(chunks.join('')).toBe('data: 1\n\ndata: 2\n\n');
    expect(chunks.length).toBeGreaterThanOrEqual(2); // the first arrived before the last was written
    expect(seen).toBe('{"a":1}');
  });

  it('collect(): the whole body at once, whether it ended before the call or after, and its errors', async () => {
    script = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"done":true}');
    };
    const early = await post();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the body has ended by now
    expect((await early.body.collect!()).toString()).toBe('{"done":true}');

    script = (res) => {
      res.writeHead(200);
      res.write('a'.repeat(100 * 1024)); // over the 64 KiB that pauses a slow consumer
      setTimeout(() => res.end('b'), 20);
    };
    const late = await post();
    await new Promise((resolve) => setTimeout(resolve, 5)); // paused, the end still to come
    const whole = await late.body.collect!();
    expect(whole.length).toBe(100 * 1024 + 1);
    expect(whole.at(-1)).toBe('b'.charCodeAt(0));

    // Paused with the end already waiting in the socket: resuming delivers it at once, within
    // the resume() call, and collect() must still see it (this hung when CI was slow).
    const stalled = await post();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const all = await stalled.body.collect!();
    expect(all.length).toBe(100 * 1024 + 1);

    script = (res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.destroy(), 20);
    };
    const broken = await post();
    await expect(broken.body.collect!()).rejects.toThrow();
  });

  it('reads a large body whole, however the consumer paces it (pausing the socket above 64 KiB)', async () => {
    const piece = 'x'.repeat(16 * 1024);
    script = (res) => {
      res.writeHead(200);
      for (let i = 0; i < 64; i++) res.write(piece);
      res.end();
    };
    const response = await post();
    let bytes = 0;
    for await (const chunk of response.body) {
      bytes += chunk.length;
      await new Promise((resolve) => setImmediate(resolve)); // a slow client
    }
    expect(bytes).toBe(64 * piece.length);
  });

  it('stops reading the upstream when the consumer stops early', async () => {
    let upstreamClosed: Promise<unknown> = Promise.resolve();
    script = (res) => {
      upstreamClosed = once(res, 'close');
      res.writeHead(200);
      const timer = setInterval(() => res.write('data: more\n\n'), 5);
      res.on('close', () => clearInterval(timer));
    };
    const response = await post();
    for await (const _chunk of response.body) break;
    await upstreamClosed; // the connection was cut: the test would time out otherwise
  });

  it('a cancellation before the headers rejects with its reason and cuts the call', async () => {
    let upstreamClosed: Promise<unknown> = Promise.resolve();
    script = (res) => {
      upstreamClosed = once(res, 'close'); // never answers
    };
    const cancellation = new Cancellation();
    const pending = post(cancellation);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const reason = new Error('client left');
    cancellation.cancel(reason);
    await expect(pending).rejects.toBe(reason);
    await upstreamClosed;

    const already = new Cancellation();
    already.cancel(reason);
    await expect(post(already)).rejects.toBe(reason);
  });

  it('a cancellation mid-body makes the next read fail with its reason', async () => {
    script = (res) => {
      res.writeHead(200);
      res.write('data: 1\n\n');
    };
    const cancellation = new Cancellation();
    const response = await post(cancellation);
    const reason = new Error('client left');
    const reading = (async () => {
      for await (const _chunk of response.body) cancellation.cancel(reason);
    })();
    await expect(reading).rejects.toBe(reason);
  });

  it('times out when the upstream sends no headers in time', async () => {
    script = () => {};
    await expect(post(new Cancellation(), 100)).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
  });
});
