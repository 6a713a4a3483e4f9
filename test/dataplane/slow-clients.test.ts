import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

/** Opens a raw connection, writes `text`, and resolves with everything the server sent until it closed (bounded). */
function exchange(url: string, text: string, withinMs = 5000): Promise<{ answer: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket: Socket = connect(Number(port), hostname, () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', () => {}); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: performance.now() - started });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${withinMs} ms; got: ${answer}`));
    }, withinMs);
  });
}

const post = (headers: string[], body: string) =>
  ['POST /openai/v1/chat/completions HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', ...headers, '', body].join('\r\n');

describe('slow and keyless clients', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  beforeAll(async () => {
    gw = await startGateway({ requestTimeoutMs: 700 });
    seeded = await seedBasic(gw);
  });
  afterAll(() => gw.close());

  it('answers a keyless request 401 before its body, and closes the connection', async () => {
    // Declares 100,000 bytes and sends none: the answer cannot wait for them.
    const { answer, closedAfterMs } = await exchange(gw.url, post(['Content-Length: 100000'], ''), 5000);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"code":"invalid_api_key"');
    expect(closedAfterMs).toBeLessThan(700); // before the body timeout: nothing was waited for
  });

  it('closes many keyless half-sent requests at once', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => exchange(gw.url, post(['Content-Length: 5000'], '{"model":'))));
    expect(results.every((r) => r.answer.startsWith('HTTP/1.1 401 '))).toBe(true);
  });

  it('answers 408 and closes the connection when a keyed body does not finish in time', async () => {
    const { answer, closedAfterMs } = await exchange(gw.url, post([`Authorization: Bearer ${seeded.key}`, 'Content-Length: 5000'], '{"model":"sim-chat",'), 5000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"request_timeout"');
    expect(closedAfterMs).toBeGreaterThanOrEqual(600);
  });

  it('answers headers that never finish, oversized headers and malformed HTTP in the catalog shape', async () => {
    const slow = await exchange(gw.url, 'POST /openai/v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n', 10_000);
    expect(slow.answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.answer).toContain('"code":"request_timeout"');

    const big = await exchange(gw.url, post([`X-Big: ${'a'.repeat(64 * 1024)}`, 'Content-Length: 2'], '{}'));
    expect(big.answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(big.answer).toContain('"code":"headers_too_large"');

    const malformed = await exchange(gw.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(malformed.answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed.answer).toContain('"code":"invalid_request"');
  });
});

describe('guessing keys and tokens', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  beforeAll(async () => {
    gw = await startGateway({ authFailuresPerMinute: 5 });
    seeded = await seedBasic(gw);
  });
  afterAll(() => gw.close());

  const chat = (key: string) =>
    fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('refuses an address after too many failed authentications — even a right guess — for the rest of the minute', async () => {
    expect((await chat(seeded.key)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await chat(`tg-wrong-${i}`)).status).toBe(401);
    const refused = await chat(seeded.key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_many_auth_failures');
    // The admin API and its tokens count against the same address.
    const admin = await gw.admin('GET', '/gateways');
    expect(admin.status).toBe(429);
    expect(admin.body.error.code).toBe('too_many_auth_failures');
  });
});
