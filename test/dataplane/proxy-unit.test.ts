import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DataPlaneRequest } from '../../src/dataplane/data-plane-request.js';
import type { ExchangeRecord } from '../../src/dataplane/exchange-observer.js';
import { proxy, type DataPlaneDeps } from '../../src/dataplane/proxy.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { operationSpec } from '../../src/operations/registry.js';
import type { Provider, UpstreamCall, UpstreamResponse } from '../../src/providers/provider.js';
import type { ConfigSnapshot, DeploymentRuntime, GatewayRuntime, LimitRuntime, ProjectRuntime } from '../../src/snapshot/config-snapshot.js';

/**
 * The data plane's unit tier: the proxy with a hand-built snapshot, the in-memory limiter and a
 * fake provider — no store, no port, no tokenizer surprises. What reaches the client is read off
 * a socket that only records.
 */

/** A socket that keeps what is written to it. */
class RecordingSocket extends Duplex {
  readonly written: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.written.push(Buffer.from(chunk));
    done();
  }
  text(): string {
    return Buffer.concat(this.written).toString('utf8');
  }
}

function response(): { res: ServerResponse; socket: RecordingSocket } {
  const socket = new RecordingSocket();
  const res = new ServerResponse(new IncomingMessage(socket as unknown as Socket));
  res.assignSocket(socket as unknown as Socket);
  return { res, socket };
}

/** A provider that answers what the test says and remembers the calls. */
class FakeProvider implements Provider {
  readonly name = 'openai-compatible' as const;
  readonly operations = new Set(['chat.completions'] as const);
  readonly calls: UpstreamCall[] = [];
  constructor(private readonly answer: (call: UpstreamCall) => { status: number; contentType: string; chunks: string[] }) {}
  validate() {
    return null;
  }
  async send(call: UpstreamCall): Promise<UpstreamResponse> {
    this.calls.push(call);
    const { status, contentType, chunks } = this.answer(call);
    return {
      status,
      headers: { 'content-type': contentType },
      body: (async function* () {
        for (const c of chunks) yield Buffer.from(c);
      })(),
    };
  }
}

const gateway: GatewayRuntime = { id: 'g1', name: 'gw', resourceName: 'r', instanceName: 'i', logContent: false, corsOrigins: new Set() };
const deployment: DeploymentRuntime = {
  id: 'd1',
  name: 'chat',
  resourceName: 'r',
  provider: 'openai-compatible',
  upstreamUrl: 'http://upstream.invalid',
  upstreamModel: 'chat',
  upstreamApiKey: null,
  apiVersion: null,
  defaultCompletionReservation: null,
  options: {},
};

function world(limit: Partial<LimitRuntime>, provider: Provider) {
  const rule: LimitRuntime = { id: 'l1', gatewayId: 'gw_1', gatewayName: 'gw', projectName: 'p', deploymentName: null, tokensPerMinute: null, tokenQuota: null, quotaPeriod: null, ...limit };
  const project: ProjectRuntime = {
    id: 'p1',
    name: 'p',
    resourceName: 'r',
    gateway,
    enabled: true,
    deployments: new Map([['chat', deployment]]),
    limitsFor: () => [rule],
  };
  const snapshot: ConfigSnapshot = { version: 1, builtAt: 0, projectsByKeyHash: new Map(), gateways: new Map([['gw', gateway]]), corsOrigins: new Set() };
  const limiter = new MemoryLimiter();
  const records: ExchangeRecord[] = [];
  const deps: DataPlaneDeps = {
    snapshots: { current: snapshot },
    providers: new Map([['openai-compatible', provider]]),
    limiter,
    governance: { defaultCompletionReservation: 100 },
    observers: [{ exchangeFinished: (r) => records.push({ ...r }) }],
    logger: pino({ level: 'silent' }),
    maxUpstreamBodyBytes: 1024 * 1024,
  };
  const send = async (body: Record<string, unknown>) => {
    const { res, socket } = response();
    const request: DataPlaneRequest = {
      id: `req-${records.length}`,
      spec: operationSpec('chat.completions'),
      headers: {},
      pathDeployment: null,
      apiVersion: null,
      text: JSON.stringify(body),
      body,
      project,
    };
    await proxy(deps, request, res);
    return socket.text();
  };
  return { send, limiter, rule, records };
}

const completion = (usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }) =>
  JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage });
const body = { model: 'chat', messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 };

describe('proxy (unit: snapshot, limiter and provider in memory)', () => {
  it('reserves, forwards, settles to the reported usage and tells the observers', async () => {
    const provider = new FakeProvider(() => ({ status: 200, contentType: 'application/json', chunks: [completion({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 })] }));
    const { send, limiter, rule, records } = world({ tokenQuota: 10_000, quotaPeriod: 'daily' }, provider);
    const answer = await send(body);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('x-tokens-consumed: 10');
    expect(answer).toContain('x-quota-remaining-tokens: 9990');
    expect(provider.calls).toHaveLength(1);
    expect((await limiter.peek(rule)).quota!.used).toBe(10);
    expect(records[0]).toMatchObject({ outcome: 'ok', status: 200, promptTokens: 7, completionTokens: 3, totalTokens: 10, project: 'p', gateway: 'gw' });
  });

  it('asks a stream for its usage, removes that chunk for a client that did not ask, and settles to it', async () => {
    const provider = new FakeProvider((call) => {
      expect(call.body.stream_options).toEqual({ include_usage: true });
      const chunk = (delta: string) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: delta } }] })}\n\n`;
      const usage = `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })}\n\n`;
      return { status: 200, contentType: 'text/event-stream', chunks: [chunk('he'), chunk('llo'), usage, 'data: [DONE]\n\n'] };
    });
    const { send, limiter, rule, records } = world({ tokenQuota: 10_000, quotaPeriod: 'daily' }, provider);
    const answer = await send({ ...body, stream: true });
    expect(answer).toContain('"content":"he"');
    expect(answer).not.toContain('"usage"');
    expect(answer).toContain('data: [DONE]');
    expect((await limiter.peek(rule)).quota!.used).toBe(9);
    expect(records[0]).toMatchObject({ stream: true, totalTokens: 9 });
  });

  it('releases the whole reservation when the upstream refuses, and passes its answer through', async () => {
    const provider = new FakeProvider(() => ({ status: 500, contentType: 'application/json', chunks: ['{"error":{"message":"boom"}}'] }));
    const { send, limiter, rule, records } = world({ tokenQuota: 10_000, quotaPeriod: 'daily' }, provider);
    const answer = await send(body);
    expect(answer).toMatch(/^HTTP\/1\.1 500 /);
    expect(answer).toContain('boom');
    expect((await limiter.peek(rule)).quota!.used).toBe(0);
    expect(records[0]).toMatchObject({ outcome: 'upstream_error', status: 500 });
  });

  it('refuses before forwarding what can never fit, telling the client not to retry', async () => {
    const provider = new FakeProvider(() => ({ status: 200, contentType: 'application/json', chunks: [completion({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 })] }));
    const { send, records } = world({ tokensPerMinute: 20 }, provider);
    const answer = await send(body); // reserves the prompt + 50
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toContain('x-should-retry: false');
    expect(answer).toContain('token_rate_limit_exceeded');
    expect(provider.calls).toHaveLength(0);
    expect(answer).toContain('x-ratelimit-limit-tokens: 20');
    expect(records[0]).toMatchObject({ outcome: 'never_fits', status: 429, refusal: { kind: 'tpm', limit: 20, neverFits: true } });
  });
});
