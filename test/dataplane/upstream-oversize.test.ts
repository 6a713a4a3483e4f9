import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseUsageTap } from '../../src/accounting/sse-usage-tap.js';
import { UpstreamFailure } from '../../src/providers/provider.js';
import { poll } from '../support/admin-helpers.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startGateway, type TestGateway } from '../support/harness.js';

const MAX_BODY = 1024 * 1024;
const MB = 1024 * 1024;

/** Writes `total` bytes of `piece` as fast as the socket takes them, stopping if the peer goes. */
async function pour(res: ServerResponse, piece: Buffer, total: number): Promise<void> {
  for (let sent = 0; sent < total && !res.destroyed; sent += piece.length) {
    if (!res.write(piece)) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
  }
  if (!res.destroyed) res.end();
}

/** Upstream answers far larger than anyone needs: the gateway stops reading at its bound. */
describe('oversized upstream answers', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let key = '';

  beforeAll(async () => {
    upstream = await startFakeUpstream(async (req, res) => {
      if (req.body?.stream) {
        // An SSE "event" that never ends: no blank line, 50 MB.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await pour(res, Buffer.from(`data: {"choices":[{"delta":{"content":"${'x'.repeat(64 * 1024)}`), 50 * MB);
      } else {
        // A 200 MB JSON answer.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"x","choices":[{"message":{"content":"');
        await pour(res, Buffer.alloc(256 * 1024, 'a'), 200 * MB);
      }
    });
    gw = await startGateway({ maxUpstreamBodyBytes: MAX_BODY });
    expect((await gw.admin('POST', '/resources', { name: 'r' })).status).toBe(201);
    expect((await gw.admin('POST', '/resources/r/deployments', { name: 'big', provider: 'openai-compatible', upstreamUrl: upstream.url })).status).toBe(201);
    expect((await gw.admin('POST', '/gateways', { name: 'g', resource: 'r', instance: { mode: 'new' } })).status).toBe(201);
    key = (await gw.admin('POST', '/resources/r/projects', { name: 'p' })).body.keys.primary;
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  const call = (stream: boolean) =>
    fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'big', messages: [{ role: 'user', content: 'everything' }], stream }),
    });

  it('answers a 200 MB JSON answer with 502 upstream_response_too_large, memory bounded', async () => {
    const before = process.memoryUsage().rss;
    const res = await call(false);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_response_too_large');
    // The gateway runs in this process: it held about its bound, not the answer.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * MB);
    const logs = await poll(async () => (await gw.admin('GET', '/gateways/g/logs')).body.items as Array<{ errorCode: string; status: number }>, (l) => l.length > 0);
    expect(logs[0]).toMatchObject({ status: 502, errorCode: 'upstream_response_too_large' });
  });

  it('ends a stream whose event never ends once it passes the bound, and stays responsive meanwhile', async () => {
    let slowest = 0;
    let streaming = true;
    const probing = (async () => {
      while (streaming) {
        const started = performance.now();
        await fetch(`${gw.url}/healthz`);
        slowest = Math.max(slowest, performance.now() - started);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const res = await call(true);
    expect(res.status).toBe(200); // the stream had begun: it is cut, not answered with an error
    await expect(res.text()).rejects.toThrow();
    streaming = false;
    await probing;
    const logs = await poll(async () => (await gw.admin('GET', '/gateways/g/logs')).body.items as Array<{ errorCode: string; stream: boolean }>, (l) => l.some((e) => e.stream));
    expect(logs.find((e) => e.stream)).toMatchObject({ errorCode: 'upstream_response_too_large' });
    expect(slowest).toBeLessThan(1000); // generous: the point is that it never froze (it did for 11 s)
  });
});

describe('SseUsageTap on trickled and endless events', () => {
  it('reassembles events fed a byte at a time, separators split anywhere', () => {
    const stream = Buffer.from(
      ['data: {"choices":[{"delta":{"content":"Hel"}}]}', 'data: {"choices":[{"delta":{"content":"lo"}}]}', 'data: [DONE]'].join('\r\n\r\n') + '\r\n\r\n',
    );
    const tap = new SseUsageTap('chat.completions', false);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      const piece = tap.push(stream.subarray(i, i + 1));
      if (piece) out.push(piece);
    }
    const rest = tap.flush();
    if (rest) out.push(rest);
    expect(Buffer.concat(out).equals(stream)).toBe(true);
    expect(tap.generatedText()).toBe('Hello');
  });

  it('fails with too_large once an event passes its bound, having held no more than that', () => {
    const tap = new SseUsageTap('chat.completions', false, 64 * 1024);
    const piece = Buffer.alloc(1000, 'x');
    let thrown: unknown = null;
    for (let i = 0; i < 1000 && thrown === null; i++) {
      try {
        tap.push(piece);
      } catch (err) {
        thrown = err;
      }
    }
    expect(thrown).toBeInstanceOf(UpstreamFailure);
    expect((thrown as UpstreamFailure).kind).toBe('too_large');
  });
});
