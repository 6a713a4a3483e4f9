import OpenAI from 'openai';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../support/admin-helpers.js';
import { chatCompletion, sseChunk, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startGateway, type TestGateway } from '../support/harness.js';

/** The gateway's upstream timeout in this file: a stall past it must end the call. */
const TIMEOUT_MS = 300;

interface LogItem {
  requestId: string;
  status: number;
  outcome: string;
  errorCode: string | null;
  upstreamStatus: number | null;
  stream: boolean;
  tokens: { prompt: number; completion: number; total: number };
}

/** Sends the first half of a JSON answer whose header promised all of it. */
function halfAnswer(res: ServerResponse, model: string): Promise<void> {
  const whole = JSON.stringify(chatCompletion(model, 'an answer that never arrives whole'));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(whole) });
  return new Promise((resolve) => res.write(whole.slice(0, whole.length / 2), () => resolve()));
}

/**
 * An upstream that answers and then breaks: headers and half the body, then a connection reset or
 * silence past the timeout. The client must get the catalogued 502/504, not a 500, and the ledger
 * must say what happened.
 */
describe('an upstream that breaks after it has begun to answer', () => {
  let gw: TestGateway;
  let upstream: FakeUpstream;
  let client: OpenAI;
  let quotaId = '';

  beforeAll(async () => {
    upstream = await startFakeUpstream(async (req, res) => {
      const model = String(req.body?.model);
      const what = String(req.body?.messages?.[0]?.content);
      if (req.body?.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        await new Promise<void>((resolve) => res.write(sseChunk(model, 'Half of it'), () => resolve()));
      } else {
        await halfAnswer(res, model);
      }
      // A reset (RST), not an orderly close: the connection breaks under the body.
      if (what === 'reset') res.socket?.resetAndDestroy();
      // 'stall': nothing more until the gateway gives up and closes the connection.
    });
    gw = await startGateway({ upstreamTimeoutMs: TIMEOUT_MS, ledgerFlushMs: 20 });
    await gw.admin('POST', '/resources', { name: 'r1' });
    await gw.admin('POST', '/resources/r1/deployments', { name: 'flaky', provider: 'openai-compatible', upstreamUrl: `${upstream.url}/v1` });
    await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } });
    const key = (await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary as string;
    // A quota that never refuses: every call holds a reservation, so what it was charged shows.
    quotaId = (await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 1_000_000, quotaPeriod: 'monthly' })).body.id;
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const ask = (content: string, requestId: string) =>
    client.chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content }], max_tokens: 50 }, { headers: { 'x-request-id': requestId } });

  async function logged(requestId: string): Promise<LogItem | undefined> {
    const find = async () => ((await gw.admin('GET', '/gateways/gw1/logs?limit=500')).body.items as LogItem[]).find((i) => i.requestId === requestId);
    return poll(find, (item) => item !== undefined, 100, 20);
  }

  async function quotaUsed(): Promise<number> {
    return (await gw.admin('GET', `/gateways/gw1/limits/${quotaId}/status`)).body.quota.used as number;
  }

  async function apiError(call: Promise<unknown>, message: RegExp): Promise<{ status: number | undefined; code: string | null | undefined }> {
    const err = await call.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.message).toMatch(message);
    return { status: e.status, code: e.code };
  }

  it('a reset mid-body of a JSON answer is 502 upstream_error, recorded as such, the prompt charged', async () => {
    const before = await quotaUsed();
    expect(await apiError(ask('reset', 'reset-1'), /broke the connection in the middle of its answer/)).toEqual({ status: 502, code: 'upstream_error' });
    const row = await logged('reset-1');
    expect(row).toMatchObject({ status: 502, outcome: 'upstream_error', errorCode: 'upstream_error', upstreamStatus: 200, stream: false });
    // The upstream processed the prompt; the client got no completion.
    expect(row!.tokens.prompt).toBeGreaterThan(0);
    expect(row!.tokens).toEqual({ prompt: row!.tokens.prompt, completion: 0, total: row!.tokens.prompt });
    expect((await quotaUsed()) - before).toBe(row!.tokens.total);
  });

  it('a stall mid-body past the upstream timeout is 504 upstream_timeout, recorded as such', async () => {
    const before = await quotaUsed();
    const started = performance.now();
    expect(await apiError(ask('stall', 'stall-1'), /stopped sending its answer/)).toEqual({ status: 504, code: 'upstream_timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    const row = await logged('stall-1');
    expect(row).toMatchObject({ status: 504, outcome: 'upstream_error', errorCode: 'upstream_timeout', upstreamStatus: 200, stream: false });
    expect(row!.tokens).toEqual({ prompt: row!.tokens.prompt, completion: 0, total: row!.tokens.prompt });
    expect((await quotaUsed()) - before).toBe(row!.tokens.total);
  });

  it.each([
    ['stall', 'upstream_timeout'],
    ['reset', 'upstream_error'],
  ])('a stream whose upstream %ss mid-way ends for the client and is recorded as %s', async (what, code) => {
    const before = await quotaUsed();
    const requestId = `stream-${what}`;
    const stream = await client.chat.completions.create(
      { model: 'flaky', messages: [{ role: 'user', content: what }], max_tokens: 50, stream: true },
      { headers: { 'x-request-id': requestId } },
    );
    let text = '';
    const ended = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => 'completed',
      () => 'broken',
    );
    // The client sees the stream break (not end as if complete) once the upstream fails.
    expect({ ended, text }).toEqual({ ended: 'broken', text: 'Half of it' });
    const row = await logged(requestId);
    // The answer had begun (200 on the wire): the status stays; outcome and code say what broke.
    expect(row).toMatchObject({ status: 200, outcome: 'upstream_error', errorCode: code, upstreamStatus: 200, stream: true });
    // Charged for what was generated, as for any broken stream.
    expect(row!.tokens.completion).toBeGreaterThan(0);
    expect((await quotaUsed()) - before).toBe(row!.tokens.total);
  });
});
