// Imported before any client library: no library may send telemetry or traces anywhere.
process.env.LANGCHAIN_TRACING_V2 = 'false';
process.env.LANGSMITH_TRACING = 'false';
process.env.LANGCHAIN_CALLBACKS_BACKGROUND = 'false';
process.env.OPENAI_AGENTS_DISABLE_TRACING = '1';
process.env.AI_SDK_LOG_WARNINGS = 'false';
// The AI SDK's gateway provider reads this; it must never be used (models are passed as objects).
delete process.env.AI_GATEWAY_API_KEY;
delete process.env.OPENAI_API_KEY;
delete process.env.ANTHROPIC_API_KEY;

import { expect } from 'vitest';
import { MemoryLimiter } from '../../../src/limits/memory-limiter.js';
import { startGateway, type TestGateway } from '../../support/harness.js';
import { loadCatalog, startReplayUpstream, type ReplayUpstream } from './recordings.js';

/** Requests some library tried to send off this machine (refused). */
const outside: string[] = [];
/** Every data-plane exchange made through fetch on this machine, in order. */
const exchanges: Exchange[] = [];
guardNetwork();

/** One request to the gateway seen by the fetch guard: when it left, when its answer came, what it said. */
export interface Exchange {
  path: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  retryAfterMs: number | null;
}

/** The simulated deployment every library talks to; it answers COMPLETION tokens of text. */
export const SIM = 'sim-chat';
export const COMPLETION = 12;
/** Recorded answers, for what the simulated model cannot do (tool calls, structured output). */
export const TOOLS = 'oai-chat-tools';
export const STRUCTURED = 'oai-chat-structured';
export const ANTHROPIC_TOOL = 'ant-tool';
export const API_VERSION = '2024-10-21';
/** What a client sends as max tokens in the 429 and 403 cases: fits the limit, not what is left of it. */
export const REFUSED_MAX_TOKENS = 100;

/** More than a whole limit: a request asking this much is refused for good. */
export const NEVER_FITS_MAX_TOKENS = 2000;

/** The tokens each refusing project may use, and how much of it is spent before the client's request. */
const LIMIT = 1000;
const SPENT_COMPLETION = 900;

export interface Refusing {
  key: string;
  project: string;
  /** Requests the client made after the limit was spent (each is a ledger row). */
  attempts(): Promise<number>;
}

export interface ClientGateway {
  gw: TestGateway;
  url: string;
  /** A project with no limit. */
  key: string;
  /** A project whose TPM limit (1000) is spent but 100 tokens: a request reserving more waits for the window. */
  rateLimited(): Promise<Refusing>;
  /** A project whose monthly quota (1000) is spent but 100 tokens. */
  quotaSpent(): Promise<Refusing>;
  /**
   * A project with an unspent TPM limit of 1000: a request asking for NEVER_FITS_MAX_TOKENS can
   * never fit, so Tollgate answers 429 with `x-should-retry: false` and no Retry-After.
   */
  neverFits(): Promise<Refusing>;
  /**
   * Like rateLimited, but the spent tokens leave the window ~2 s from now (the limiter's clock is
   * moved on 58 s): a client that honours Retry-After succeeds on its one retry.
   */
  freeingSoon(): Promise<Refusing>;
  /** Requests some library tried to send off this machine (blocked). */
  outside: string[];
  /** Data-plane requests made through fetch (the harness's own included), in order. */
  exchanges: Exchange[];
  close(): Promise<void>;
}

/**
 * A gateway for client libraries: the simulated deployment, a few recorded answers behind
 * openai-compatible and anthropic deployments, and projects with spent limits. Every fetch to
 * anything but this machine is refused and remembered, so a library that phones home fails.
 */
export async function startClientGateway(): Promise<ClientGateway> {
  const replay: ReplayUpstream = await startReplayUpstream(loadCatalog().filter((r) => [TOOLS, STRUCTURED, ANTHROPIC_TOOL].includes(r.id)));
  // The limiter's clock can be moved on, so a spent minute can be made to end in ~2 s (see freeingSoon).
  let skewMs = 0;
  const gw = await startGateway({ ledgerFlushMs: 20 }, { limiter: new MemoryLimiter({ clock: () => Date.now() + skewMs }) });
  const ok = (res: { status: number; body: any }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  ok(await gw.admin('POST', '/resources', { name: 'r1' }), 'resource');
  ok(await gw.admin('POST', '/resources/r1/deployments', { name: SIM, provider: 'simulated', options: { completionTokens: COMPLETION } }), SIM);
  ok(await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-long', provider: 'simulated', options: { completionTokens: SPENT_COMPLETION } }), 'sim-long');
  for (const [name, provider] of [[TOOLS, 'openai-compatible'], [STRUCTURED, 'openai-compatible'], [ANTHROPIC_TOOL, 'anthropic']] as const) {
    const base = `${replay.url}/rec/${name}`;
    ok(
      await gw.admin('POST', '/resources/r1/deployments', {
        name,
        provider,
        upstreamUrl: provider === 'anthropic' ? base : `${base}/v1`,
        upstreamModel: name,
        upstreamApiKey: 'upstream-secret',
      }),
      name,
    );
  }
  ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }), 'gateway');
  const key: string = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p1' }), 'project').keys.primary;

  let projects = 0;
  async function refusing(limit: Record<string, unknown>, spend = true): Promise<Refusing> {
    const project = `p${++projects}-limited`;
    const projectKey: string = ok(await gw.admin('POST', '/resources/r1/projects', { name: project }), project).keys.primary;
    ok(await gw.admin('POST', '/gateways/gw1/limits', { project, ...limit }), `limit of ${project}`);
    const rows = async () => {
      await gw.tollgate.ledger!.flush();
      const logs = await gw.admin('GET', `/gateways/gw1/logs?project=${project}&limit=500`);
      return (logs.body.items as unknown[]).length;
    };
    if (!spend) return { key: projectKey, project, attempts: rows };
    // Spend all but ~90 tokens of the limit: prompt + 900 generated.
    const spent = await fetch(`${gw.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim-long', max_tokens: SPENT_COMPLETION, messages: [{ role: 'user', content: 'spend' }] }),
    });
    expect(spent.status, await spent.text()).toBe(200);
    return { key: projectKey, project, attempts: async () => (await rows()) - 1 };
  }

  return {
    gw,
    url: gw.url,
    key,
    rateLimited: () => refusing({ tokensPerMinute: LIMIT }),
    quotaSpent: () => refusing({ tokenQuota: LIMIT, quotaPeriod: 'monthly' }),
    neverFits: () => refusing({ tokensPerMinute: LIMIT }, false),
    async freeingSoon() {
      const limited = await refusing({ tokensPerMinute: LIMIT });
      // The limiter now sees the spend as 58 s old: the window frees it (Retry-After) in about 2 s.
      skewMs += 58_000;
      return limited;
    },
    outside,
    exchanges,
    async close() {
      await gw.close();
      await replay.close();
      expect(outside, 'requests some library sent off this machine').toEqual([]);
    },
  };
}

/** Refuses (and records) every fetch that leaves 127.0.0.1. */
function guardNetwork(): void {
  // Installed once per test file (a fork), before the libraries are imported, so none keeps the unguarded fetch.
  const original = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const host = new URL(href).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      outside.push(href);
      return Promise.reject(new Error(`test: no network, refused ${href}`));
    }
    const sentAt = performance.now();
    return original(input, init).then((res) => {
      const path = new URL(href).pathname;
      if (!path.startsWith('/admin/')) {
        const ms = res.headers.get('retry-after-ms');
        exchanges.push({ path, sentAt, answeredAt: performance.now(), status: res.status, retryAfterMs: ms === null ? null : Number(ms) });
      }
      return res;
    });
  };
}

/** The messages every library sends. */
export const QUESTION = 'Say hello to the gateway.';

/** Asserts an error is the gateway's refusal: its status, and a Retry-After a client can honour. */
export function expectRefusal(error: unknown, status: 429 | 403, headers?: Headers | Record<string, string | undefined> | null): void {
  expect(error, 'the library surfaced no error').toBeDefined();
  expect((error as { status?: number }).status ?? (error as { statusCode?: number }).statusCode).toBe(status);
  if (headers) {
    const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
    expect(Number(get('retry-after'))).toBeGreaterThan(0);
    expect(Number(get('retry-after-ms'))).toBeGreaterThan(0);
    expect(get('x-should-retry')).toBeFalsy(); // it can succeed later
  }
}

/**
 * Runs `call` against a freeingSoon project and asserts the library honoured Retry-After: one
 * refusal (429 with retry-after-ms of a few seconds), then one retry no sooner than it said, which
 * succeeds.
 */
export async function expectRetryAfterHonoured(tg: ClientGateway, call: (key: string) => Promise<unknown>): Promise<void> {
  const limited = await tg.freeingSoon();
  const from = tg.exchanges.length;
  await call(limited.key);
  const seen = tg.exchanges.slice(from);
  expect(seen.map((e) => e.status)).toEqual([429, 200]);
  const wait = seen[0]!.retryAfterMs!;
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(3000);
  expect(seen[1]!.sentAt - seen[0]!.answeredAt).toBeGreaterThanOrEqual(wait - 20);
  expect(await limited.attempts()).toBe(2);
}

/** Asserts an error is the refusal of a request that can never fit: 429, `x-should-retry: false`, no Retry-After. */
export function expectNeverFits(error: unknown, headers?: Headers | Record<string, string | undefined> | null): void {
  expect(error, 'the library surfaced no error').toBeDefined();
  expect((error as { status?: number }).status ?? (error as { statusCode?: number }).statusCode).toBe(429);
  if (headers) {
    const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
    expect(get('x-should-retry')).toBe('false');
    expect(get('retry-after')).toBeFalsy();
  }
}
