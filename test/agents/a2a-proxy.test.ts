import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';
import { Role, type Message, type SendMessageRequest } from '@a2a-js/sdk';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';
import { AGENT_SECRET, startA2AAgent, type TestA2AAgent } from './a2a-agent.js';

/**
 * The official A2A SDK on both sides of the proxy: a real agent (JSON-RPC, v1.0 + v0.3) and real
 * clients calling it through `{gateway}/agents/{name}` with a project key.
 */
describe('A2A agents through the proxy', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let agent: TestA2AAgent;
  let proxyUrl: string;

  /** fetch that adds the gateway key and the agent's own credential to every call, as a client would. */
  const keyedFetch = (key: string): typeof fetch => (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('api-key', key);
    headers.set('authorization', `Bearer ${AGENT_SECRET}`);
    return fetch(input, { ...init, headers });
  };

  const message = (text: string): SendMessageRequest =>
    ({
      tenant: '',
      message: {
        messageId: `u-${Math.random().toString(36).slice(2)}`,
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      } as unknown as Message,
      configuration: undefined,
      metadata: undefined,
    }) as unknown as SendMessageRequest;

  beforeAll(async () => {
    agent = await startA2AAgent();
    gw = await startGateway();
    seeded = await seedBasic(gw);
    const created = await gw.admin('POST', '/gateways/gw1/agents', { name: 'helper', project: 'p1', url: agent.url, protocol: 'a2a', otelAgentId: 'otel-helper' });
    expect(created.status).toBe(201);
    proxyUrl = created.body.proxyUrl;
    expect(proxyUrl).toBe(`${gw.url}/agents/helper`);
    expect(created.body.agentCardUrl).toBe(`${agent.url}/.well-known/agent-card.json`);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await agent?.close();
  });

  it('serves the card rewritten: the proxy as every URL, the gateway key required', async () => {
    const res = await fetch(`${proxyUrl}/.well-known/agent-card.json`, { headers: { 'api-key': seeded.key, 'a2a-version': '1.0' } });
    expect(res.status).toBe(200);
    const card = (await res.json()) as Record<string, any>;
    expect(card.supportedInterfaces.map((i: { url: string }) => i.url)).toEqual([proxyUrl, proxyUrl]);
    expect(JSON.stringify(card)).not.toContain(agent.url);
    expect(card.securitySchemes.tollgateApiKey).toEqual({ apiKeySecurityScheme: { location: 'header', name: 'api-key', description: 'Tollgate project key' } });
    expect(card.securityRequirements.every((r: { schemes: object }) => 'tollgateApiKey' in r.schemes)).toBe(true);
    // The v0.3 card (no A2A-Version) has its url rewritten too.
    const legacy = (await (await fetch(`${proxyUrl}/.well-known/agent-card.json`, { headers: { 'api-key': seeded.key } })).json()) as Record<string, any>;
    expect(legacy.url).toBe(proxyUrl);
    expect(legacy.securitySchemes.tollgateApiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'api-key' });
    expect(legacy.security).toContainEqual(expect.objectContaining({ tollgateApiKey: [] }));
  });

  it('A2A 1.0: the SDK client discovers the agent through the proxy and sends a message; the agent sees its own Authorization, never the key', async () => {
    const fetchImpl = keyedFetch(seeded.key);
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl })],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      }),
    );
    // The card is under the proxy's path: the full card URL, with an empty path.
    const client = await factory.createFromUrl(`${proxyUrl}/.well-known/agent-card.json`, '');
    const before = agent.seen.length;
    const result = await client.sendMessage(message('hello'));
    expect(JSON.stringify(result)).toContain('echo: hello');
    const seen = agent.seen.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen) {
      expect(h.authorization).toBe(`Bearer ${AGENT_SECRET}`);
      expect(h['api-key']).toBeUndefined();
    }
  });

  it('A2A 0.3: message/send and message/stream, the stream\'s events arriving as the agent produces them', async () => {
    const transport = new LegacyJsonRpcTransport({ endpoint: proxyUrl, fetchImpl: keyedFetch(seeded.key) });
    const sent = await transport.sendMessage(message('legacy'));
    expect(JSON.stringify(sent)).toContain('echo: legacy');

    const events: string[] = [];
    const stream = transport.sendMessageStream(message('stream'));
    // The agent publishes the next step only after the client has seen the previous event: had
    // the proxy held the stream back, this loop would wait forever (the test's timeout).
    for await (const event of stream) {
      events.push(JSON.stringify(event));
      agent.step();
    }
    const text = events.join('\n');
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(text.indexOf('step 1')).toBeLessThan(text.indexOf('step 2'));
    expect(text.indexOf('step 2')).toBeLessThan(text.indexOf('step 3'));
  }, 30_000);

  it('without the agent\'s own credential the agent itself refuses (its auth still applies)', async () => {
    const res = await fetch(proxyUrl, {
      method: 'POST',
      headers: { 'api-key': seeded.key, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'message/send', params: {} }),
    });
    expect(res.status).toBe(401);
  });

  it('refuses a blocked A2A agent with a JSON-RPC error carrying agent_blocked, and unblocks', async () => {
    expect((await gw.admin('POST', '/gateways/gw1/agents/helper/block')).body.status).toBe('blocked');
    const res = await fetch(proxyUrl, {
      method: 'POST',
      headers: { 'api-key': seeded.key, authorization: `Bearer ${AGENT_SECRET}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'call-7', method: 'SendMessage', params: {} }),
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { jsonrpc: string; id: string; error: { code: number; message: string; data: { code: string } } };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'call-7', error: { data: { code: 'agent_blocked' } } });
    expect(typeof body.error.code).toBe('number');
    await gw.admin('POST', '/gateways/gw1/agents/helper/unblock');
    const after = await fetch(`${proxyUrl}/.well-known/agent-card.json`, { headers: { 'api-key': seeded.key } });
    expect(after.status).toBe(200);
  });

  it('logs each request with its JSON-RPC method, and counts it in the metrics', async () => {
    // The ledger is written off the request path: wait for the rows.
    let items: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100; i++) {
      items = (await gw.admin('GET', '/gateways/gw1/logs?kind=agent&limit=100')).body.items;
      if (items.some((r) => r.rpcMethod === 'message/stream') && items.some((r) => r.errorCode === 'agent_blocked')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const methods = items.map((r) => r.rpcMethod);
    expect(methods).toEqual(expect.arrayContaining(['SendMessage', 'message/send', 'message/stream']));
    const stream = items.find((r) => r.rpcMethod === 'message/stream')!;
    expect(stream).toMatchObject({ agent: 'helper', project: 'p1', method: 'POST', status: 200, outcome: 'ok', streamed: true, otelAgentId: 'otel-helper' });
    const blocked = items.find((r) => r.errorCode === 'agent_blocked')!;
    expect(blocked).toMatchObject({ status: 403, outcome: 'rejected', rpcMethod: 'SendMessage' });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/tollgate_agent_requests_total\{gateway="gw1",agent="helper",project="p1",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/tollgate_agent_requests_total\{gateway="gw1",agent="helper",project="p1",outcome="rejected"\} 1/);
  });

  it('reports the agent running once its card was fetched by the health check', async () => {
    let status = '';
    for (let i = 0; i < 100 && status !== 'running'; i++) {
      status = (await gw.admin('GET', '/gateways/gw1/agents/helper')).body.status;
      if (status !== 'running') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('running');
  });
});
