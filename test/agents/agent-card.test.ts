import { describe, expect, it } from 'vitest';
import { rewriteCard } from '../../src/agents/agent-card.js';
import { jsonRpcErrorBody, rpcCallOf } from '../../src/agents/jsonrpc.js';
import { TollgateError } from '../../src/errors.js';

/** The pure parts of the A2A mediation: card rewriting, JSON-RPC call reading, refusal bodies. */
describe('A2A card rewriting', () => {
  const agentUrl = 'http://10.0.0.5:8000/a2a';
  const proxy = 'https://ai.example.com/agents/helper';

  it('points a 0.3 card and its additional interfaces at the proxy (sub-paths kept) and requires the gateway key with the agent\'s own scheme', () => {
    const card = {
      name: 'helper',
      url: 'http://10.0.0.5:8000/a2a',
      preferredTransport: 'JSONRPC',
      additionalInterfaces: [
        { url: 'http://10.0.0.5:8000/a2a', transport: 'JSONRPC' },
        { url: 'http://10.0.0.5:8000/a2a/rest', transport: 'HTTP+JSON' },
        { url: 'https://public.example/agent', transport: 'JSONRPC' },
      ],
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      security: [{ bearer: [] }],
    };
    const out = rewriteCard(card, agentUrl, proxy) as typeof card & { securitySchemes: Record<string, unknown>; security: object[] };
    expect(out.url).toBe(proxy);
    expect(out.additionalInterfaces.map((i) => i.url)).toEqual([proxy, `${proxy}/rest`, proxy]);
    expect(out.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer' },
      tollgateApiKey: { type: 'apiKey', in: 'header', name: 'api-key', description: 'Tollgate project key' },
    });
    expect(out.security).toEqual([{ bearer: [], tollgateApiKey: [] }]);
    expect(out).not.toHaveProperty('securityRequirements');
    expect(card.url).toBe('http://10.0.0.5:8000/a2a'); // the cached card is not changed
  });

  it('rewrites a 1.0 card: supportedInterfaces and securityRequirements (the key alone when it had none)', () => {
    const card = { name: 'helper', supportedInterfaces: [{ url: `${agentUrl}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }] };
    const out = rewriteCard(card, agentUrl, proxy) as Record<string, any>;
    expect(out.supportedInterfaces).toEqual([{ url: proxy, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }]);
    expect(out.securitySchemes).toEqual({ tollgateApiKey: { apiKeySecurityScheme: { location: 'header', name: 'api-key', description: 'Tollgate project key' } } });
    expect(out.securityRequirements).toEqual([{ schemes: { tollgateApiKey: { list: [] } } }]);
    expect(out).not.toHaveProperty('security');
    expect(out).not.toHaveProperty('url');
  });
});

describe('JSON-RPC calls and refusals', () => {
  it('reads the method and id of a call, and nothing of what is not one', () => {
    expect(rpcCallOf('{"jsonrpc":"2.0","id":3,"method":"message/stream","params":{}}')).toEqual({ method: 'message/stream', id: 3 });
    expect(rpcCallOf(' {"id":"a","method":"SendMessage"}')).toEqual({ method: 'SendMessage', id: 'a' });
    expect(rpcCallOf('[1,2]')).toEqual({ method: null, id: null });
    expect(rpcCallOf('{"method": 7, "id": {}}')).toEqual({ method: null, id: null });
    expect(rpcCallOf('{not json')).toEqual({ method: null, id: null });
    expect(rpcCallOf('')).toEqual({ method: null, id: null });
  });

  it('answers a refusal as a JSON-RPC error carrying the catalog code', () => {
    const body = jsonRpcErrorBody(new TollgateError('agent_rate_limit_exceeded', 'slow down'), 'x1');
    expect(body).toEqual({
      jsonrpc: '2.0',
      id: 'x1',
      error: { code: -32029, message: 'slow down', data: { code: 'agent_rate_limit_exceeded', type: 'rate_limit_error', status: 429 } },
    });
  });
});
