import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { MIN_USEFUL_COMPLETION } from '../../src/dataplane/governance.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import type { LogPage } from '../../src/controlplane/api-types.js';
import { chatCompletion, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'Say something long, please.' }];
const PROMPT = countChatPromptTokens(messages);

/**
 * Requests without max_tokens under limits smaller than the default completion reservation (1024):
 * they are capped to what the limit holds, never refused as "can never fit" while a useful
 * completion fits, and the limit stays a ceiling (issue 21, point 2).
 */
describe('requests without max_tokens under small limits', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let client: OpenAI;
  let upstream: FakeUpstream;
  // The limiter's clock is the test's: windows pass without waiting.
  let now = Date.UTC(2026, 10, 18, 10, 0, 0, 250);
  const limiter = new MemoryLimiter({ clock: () => now });

  beforeAll(async () => {
    // An OpenAI-style upstream that honours the cap it receives and otherwise writes 900 tokens.
    upstream = await startFakeUpstream((req, res) => {
      const b = req.body as Record<string, unknown>;
      const cap = (b.max_completion_tokens ?? b.max_tokens ?? b.max_output_tokens ?? 900) as number;
      const completion = Math.min(cap, 900);
      res.setHeader('content-type', 'application/json');
      if (req.url.endsWith('/responses')) {
        res.end(JSON.stringify({ id: 'resp_1', object: 'response', status: 'completed', output: [], usage: { input_tokens: PROMPT, output_tokens: completion, total_tokens: PROMPT + completion } }));
        return;
      }
      res.end(JSON.stringify(chatCompletion(String(b.model), 'words', { prompt_tokens: PROMPT, completion_tokens: completion, total_tokens: PROMPT + completion })));
    });
    gw = await startGateway({}, { limiter });
    // The simulated model writes 900 tokens unless bounded: an uncapped request would overrun the limit.
    seeded = await seedBasic(gw, { completionTokens: 900 });
    const add = (name: string, provider: string) =>
      gw.admin('POST', '/resources/r1/deployments', { name, provider, upstreamUrl: upstream.url, upstreamApiKey: 'sk-upstream', upstreamModel: 'gpt-4o' });
    expect((await add('oai', 'openai')).status).toBe(201);
    expect((await add('compat', 'openai-compatible')).status).toBe(201);
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  const limit = async (body: Record<string, unknown>): Promise<string> => {
    const res = await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  const drop = (id: string) => gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  const logs = async (query: string): Promise<LogPage> => {
    await gw.tollgate.ledger!.flush();
    return (await gw.admin('GET', `/gateways/gw1/logs?${query}`)).body as LogPage;
  };

  it('caps max_completion_tokens upstream to what a TPM of 300 holds, and says so in a header', async () => {
    const id = await limit({ deployment: 'oai', tokensPerMinute: 300 });
    const before = upstream.requests.length;
    const { data, response } = await client.chat.completions.create({ model: 'oai', messages }).withResponse();
    expect(data.usage?.completion_tokens).toBe(300 - PROMPT);
    expect(response.headers.get('x-tollgate-max-tokens-capped')).toBe(String(300 - PROMPT));
    expect(response.headers.get('x-tokens-consumed')).toBe('300');
    const sent = upstream.requests[before]!.body as Record<string, unknown>;
    expect(sent.max_completion_tokens).toBe(300 - PROMPT);
    expect(sent.max_tokens).toBeUndefined();
    // The ledger row says what was reserved and capped.
    const row = (await logs('deployment=oai&limit=1')).items[0]!;
    expect(row).toMatchObject({ outcome: 'ok', reservedTokens: 300, maxTokensCapped: 300 - PROMPT, refusal: null, message: null });
    await drop(id);
    now += 61_000;
  });

  it('puts the cap in max_tokens for an OpenAI-compatible server, in max_output_tokens for the Responses API', async () => {
    const id = await limit({ tokensPerMinute: 400 });
    let before = upstream.requests.length;
    await client.chat.completions.create({ model: 'compat', messages });
    const compat = upstream.requests[before]!.body as Record<string, unknown>;
    expect(compat.max_tokens).toBe(400 - PROMPT);
    expect(compat.max_completion_tokens).toBeUndefined();
    now += 61_000;
    before = upstream.requests.length;
    const { response } = await client.responses.create({ model: 'oai', input: 'Say something long, please.' }).withResponse();
    const capped = Number(response.headers.get('x-tollgate-max-tokens-capped'));
    expect(capped).toBeGreaterThanOrEqual(MIN_USEFUL_COMPLETION);
    expect((upstream.requests[before]!.body as Record<string, unknown>).max_output_tokens).toBe(capped);
    await drop(id);
    now += 61_000;
  });

  it('caps a stream too: the header says so, and the stream stays within the limit', async () => {
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: 250 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'sim-chat', messages, stream: true }).withResponse();
    expect(response.headers.get('x-tollgate-max-tokens-capped')).toBe(String(250 - PROMPT));
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    await gw.tollgate.ledger!.flush();
    const status = (await gw.admin('GET', `/gateways/gw1/limits/${id}/status`)).body;
    expect(status.tpm.used).toBeLessThanOrEqual(250);
    expect(status.tpm.used).toBeGreaterThan(PROMPT);
    await drop(id);
    now += 61_000;
  });

  it('never admits more than the TPM: concurrent uncapped requests are capped to what is left, then refused for a while', async () => {
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: 300 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        client.chat.completions
          .create({ model: 'sim-chat', messages })
          .withResponse()
          .then(
            ({ data, response }) => ({ ok: true as const, used: data.usage!.total_tokens, capped: response.headers.get('x-tollgate-max-tokens-capped') }),
            (e: { status: number; headers: Headers }) => ({ ok: false as const, status: e.status, retryAfter: e.headers.get('retry-after') }),
          ),
      ),
    );
    const admitted = results.filter((r) => r.ok);
    expect(admitted.length).toBeGreaterThanOrEqual(1);
    expect(admitted.every((r) => r.capped !== null)).toBe(true);
    expect(admitted.reduce((n, r) => n + r.used, 0)).toBeLessThanOrEqual(300);
    // What did not fit now is an ordinary, retryable 429.
    for (const r of results.filter((x) => !x.ok)) expect(r).toMatchObject({ status: 429 });
    const status = (await gw.admin('GET', `/gateways/gw1/limits/${id}/status`)).body;
    expect(status.tpm.used).toBeLessThanOrEqual(300);
    await drop(id);
    now += 61_000;
  });

  it('under a quota of 1000 per hour, serves request after request, each capped to what remains, never past the quota', async () => {
    const id = await limit({ deployment: 'sim-chat', tokenQuota: 1000, quotaPeriod: 'hourly' });
    let admitted = 0;
    let refusal: { status: number; code: string } | null = null;
    for (let i = 0; i < 20 && refusal === null; i++) {
      try {
        await client.chat.completions.create({ model: 'sim-chat', messages });
        admitted++;
      } catch (e) {
        const err = e as { status: number; code: string };
        refusal = { status: err.status, code: err.code };
      }
    }
    // 1000 tokens hold several capped answers (each prompt + what is left, down to 16 tokens).
    expect(admitted).toBeGreaterThan(1);
    expect(refusal).toEqual({ status: 403, code: 'token_quota_exceeded' });
    const status = (await gw.admin('GET', `/gateways/gw1/limits/${id}/status`)).body;
    expect(status.quota.used).toBeLessThanOrEqual(1000);
    expect(status.quota.remaining).toBeLessThan(PROMPT + MIN_USEFUL_COMPLETION);
    // An exhausted quota is not "never fits": it is retryable after the period.
    const row = (await logs('deployment=sim-chat&outcome=quota_exceeded&limit=1')).items[0]!;
    expect(row.refusal).toMatchObject({ limitId: id, scope: 'per-deployment', kind: 'quota', limit: 1000, neverFits: false });
    expect(row.message).toMatch(/project "p1" on deployment "sim-chat"/);
    await drop(id);
  });

  it('refuses with the never_fits outcome and the rate-limit headers when not even a short completion fits', async () => {
    const tpm = PROMPT + MIN_USEFUL_COMPLETION - 1;
    const id = await limit({ tokensPerMinute: tpm });
    const err = (await client.chat.completions.create({ model: 'sim-chat', messages }).catch((e: unknown) => e)) as {
      status: number;
      code: string;
      message: string;
      headers: Headers;
    };
    expect(err.status).toBe(429);
    expect(err.code).toBe('token_rate_limit_exceeded');
    expect(err.message).toMatch(/can never fit/);
    expect(err.message).toContain(`project "p1" on deployment "sim-chat" (its limit for all deployments, id ${id})`);
    expect(err.headers.get('x-should-retry')).toBe('false');
    expect(err.headers.get('retry-after')).toBeNull();
    expect(err.headers.get('x-ratelimit-limit-tokens')).toBe(String(tpm));
    expect(err.headers.get('x-ratelimit-remaining-tokens')).toBe(String(tpm));
    expect(err.headers.get('x-ratelimit-reset-tokens')).toMatch(/^\d+s$/);
    const row = (await logs('outcome=never_fits&limit=1')).items[0]!;
    expect(row).toMatchObject({
      status: 429,
      outcome: 'never_fits',
      errorCode: 'token_rate_limit_exceeded',
      reservedTokens: PROMPT + 1024,
      refusal: { limitId: id, scope: 'project-wide', kind: 'tpm', limit: tpm, remaining: tpm, neverFits: true },
      message: err.message.replace(/^429 /, ''),
    });
    // The rollups count it under its own outcome.
    const usage = (await gw.admin('GET', '/gateways/gw1/usage')).body;
    expect(usage.totals.requests.never_fits).toBe(1);
    await drop(id);
  });
});
