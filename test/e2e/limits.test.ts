import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'Count my tokens, please.' }];
const PROMPT = countChatPromptTokens(messages);
const chat = (client: OpenAI, model: string, max_tokens: number) => client.chat.completions.create({ model, messages, max_tokens });

/**
 * Token limits end to end, with the openai SDK against the simulated model (which reports exact
 * usage) and a limiter on a clock the test controls, so windows and periods pass without waiting.
 */
describe('token limits end to end', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let client: OpenAI;
  // 2026-11-18 is a Wednesday; 10:00:00.250 UTC.
  let now = Date.UTC(2026, 10, 18, 10, 0, 0, 250);
  const limiter = new MemoryLimiter({ clock: () => now });

  beforeAll(async () => {
    gw = await startGateway({}, { limiter });
    seeded = await seedBasic(gw, { completionTokens: 10 });
    await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-b', provider: 'simulated', options: { completionTokens: 10 } });
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
  });
  afterAll(() => gw.close());

  async function limit(body: Record<string, unknown>): Promise<string> {
    const res = await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  }
  const used = async (id: string) => {
    const rule = (await gw.admin('GET', `/gateways/gw1/limits/${id}`)).body;
    return limiter.peek(rule);
  };

  it('answers 429 with an exact Retry-After once the TPM is spent, and admits again after it', async () => {
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: 3 * (PROMPT + 10) });
    // Each call reserves PROMPT + 10 and uses exactly that: three fit in the minute.
    for (let i = 0; i < 3; i++) {
      const res = await chat(client, 'sim-chat', 10).withResponse();
      expect(res.response.headers.get('x-tokens-consumed')).toBe(String(PROMPT + 10));
      expect(res.response.headers.get('x-ratelimit-limit-tokens')).toBe(String(3 * (PROMPT + 10)));
      expect(res.response.headers.get('x-ratelimit-remaining-tokens')).toBe(String((2 - i) * (PROMPT + 10)));
      now += 10_000; // at 10:00:00.25, :10.25, :20.25
    }
    // 10:00:30.25: the first admission (second 10:00:00) leaves the window at 10:01:00.
    const err = await chat(client, 'sim-chat', 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe('token_rate_limit_exceeded');
    expect(e.headers?.get('retry-after')).toBe('30');
    expect(e.headers?.get('retry-after-ms')).toBe('30000'); // for clients that ignore Retry-After from 60 s up
    expect(e.message).toMatch(/Try again in 30 seconds/);

    now += 29_000; // one second short
    await expect(chat(client, 'sim-chat', 10)).rejects.toMatchObject({ status: 429 });
    now += 1_000;
    await expect(chat(client, 'sim-chat', 10)).resolves.toBeDefined();
    expect((await used(id)).tpm?.used).toBe(3 * (PROMPT + 10));
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('refuses at once, without Retry-After, a request that can never fit', async () => {
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: 50 });
    const e = (await chat(client, 'sim-chat', 500).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(429);
    expect(e.headers?.get('retry-after')).toBeNull();
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect(e.message).toMatch(/can never fit.*Lower max_tokens/);
    // The SDK, left to its default retries, sends it once: it is told a retry cannot help.
    let sent = 0;
    const counting = new OpenAI({
      baseURL: client.baseURL,
      apiKey: client.apiKey,
      fetch: (input, init) => (sent++, fetch(input, init)),
    });
    await expect(chat(counting, 'sim-chat', 500)).rejects.toMatchObject({ status: 429 });
    expect(sent).toBe(1);
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('answers 403 once the quota is spent, with Retry-After to the end of the period', async () => {
    now = Date.UTC(2026, 10, 18, 22, 0, 0); // Wednesday 22:00 UTC
    const id = await limit({ deployment: 'sim-chat', tokenQuota: 2 * (PROMPT + 10), quotaPeriod: 'daily' });
    await chat(client, 'sim-chat', 10);
    const ok = await chat(client, 'sim-chat', 10).withResponse();
    expect(ok.response.headers.get('x-quota-remaining-tokens')).toBe('0');
    const e = (await chat(client, 'sim-chat', 10).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(403);
    expect(e.code).toBe('token_quota_exceeded');
    expect(e.headers?.get('retry-after')).toBe(String(2 * 3600));
    expect(e.message).toMatch(/this day is exhausted/);
    now = Date.UTC(2026, 10, 19, 0, 0, 0); // a new day
    await expect(chat(client, 'sim-chat', 10)).resolves.toBeDefined();
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('applies a raised or lowered limit to the very next request, keeping what was used', async () => {
    now += 120_000;
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: PROMPT + 10 });
    await chat(client, 'sim-chat', 10);
    await expect(chat(client, 'sim-chat', 10)).rejects.toMatchObject({ status: 429 });
    await gw.admin('PATCH', `/gateways/gw1/limits/${id}`, { tokensPerMinute: 2 * (PROMPT + 10) });
    await expect(chat(client, 'sim-chat', 10)).resolves.toBeDefined();
    await gw.admin('PATCH', `/gateways/gw1/limits/${id}`, { tokensPerMinute: 3 * (PROMPT + 10) - 1 });
    // Usage was kept through both changes: 2 requests used, the third no longer fits.
    await expect(chat(client, 'sim-chat', 10)).rejects.toMatchObject({ status: 429 });
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
    await expect(chat(client, 'sim-chat', 10)).resolves.toBeDefined();
  });

  it('caps the sum of two deployments with a project-wide limit', async () => {
    now += 120_000;
    const id = await limit({ tokensPerMinute: 3 * (PROMPT + 10) });
    await chat(client, 'sim-chat', 10);
    await chat(client, 'sim-b', 10);
    await chat(client, 'sim-b', 10);
    await expect(chat(client, 'sim-chat', 10)).rejects.toMatchObject({ status: 429 });
    await expect(chat(client, 'sim-b', 10)).rejects.toMatchObject({ status: 429 });
    expect((await used(id)).tpm?.used).toBe(3 * (PROMPT + 10));
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('counts streams exactly, and strips the usage chunk the client did not ask for', async () => {
    now += 120_000;
    const id = await limit({ tokenQuota: 1_000_000, quotaPeriod: 'monthly' });
    const before = (await used(id)).quota!.used;
    const stream = await client.chat.completions.create({ model: 'sim-chat', messages, stream: true, max_tokens: 500 });
    let sawUsage = false;
    let text = '';
    for await (const chunk of stream) {
      if (chunk.usage) sawUsage = true;
      if (chunk.choices.length === 0) sawUsage = true;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(sawUsage).toBe(false);
    expect(text).toMatch(/^Hello/);
    // Reserved PROMPT + 500, settled to the simulated model's exact usage.
    expect((await used(id)).quota!.used - before).toBe(PROMPT + 10);

    const withUsage = await client.chat.completions.create({ model: 'sim-chat', messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    expect(usage?.total_tokens).toBe(PROMPT + 10);
    expect((await used(id)).quota!.used - before).toBe(2 * (PROMPT + 10));
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('charges a client that disconnects mid-stream for what was generated, not the reservation', async () => {
    now += 120_000;
    await gw.admin('POST', '/resources/r1/deployments', {
      name: 'sim-slow',
      provider: 'simulated',
      options: { completionTokens: 200, chunkDelayMs: 15 },
    });
    const id = await limit({ tokenQuota: 1_000_000, quotaPeriod: 'monthly' });
    const before = (await used(id)).quota!.used;
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'sim-slow', messages, stream: true, max_tokens: 200 },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) chunks++;
        if (chunks === 5) controller.abort();
      }
    } catch {
      // the abort ends the iteration
    }
    // The gateway settles once it notices the disconnect; poll the count (bounded).
    let charged = 0;
    for (let i = 0; i < 100; i++) {
      charged = (await used(id)).quota!.used - before;
      if (charged < PROMPT + 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(charged).toBeGreaterThanOrEqual(PROMPT + 5);
    expect(charged).toBeLessThan(PROMPT + 200);
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('never admits more than the limit under 64 concurrent clients', async () => {
    now += 120_000;
    const tpm = 10 * (PROMPT + 10) + 5; // room for exactly 10 requests that reserve PROMPT + 10
    const id = await limit({ deployment: 'sim-chat', tokensPerMinute: tpm });
    const clients = Array.from({ length: 64 }, () => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 }));
    const results = await Promise.allSettled(clients.map((c) => chat(c, 'sim-chat', 10).withResponse()));
    const admitted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    const consumed = admitted.reduce((sum, r) => sum + Number(r.value.response.headers.get('x-tokens-consumed')), 0);
    expect(admitted).toHaveLength(10);
    expect(refused.every((r) => (r.reason as { status?: number }).status === 429)).toBe(true);
    expect(consumed).toBeLessThanOrEqual(tpm);
    expect((await used(id)).tpm!.used).toBe(consumed);
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });

  it('releases the reservation in full when the upstream fails', async () => {
    now += 120_000;
    await gw.admin('POST', '/resources/r1/deployments', { name: 'sim-broken', provider: 'simulated', options: { failWithStatus: 500 } });
    const id = await limit({ tokensPerMinute: 10_000 });
    await expect(chat(client, 'sim-broken', 10)).rejects.toMatchObject({ status: 500 });
    expect((await used(id)).tpm!.used).toBe(0);
    await gw.admin('DELETE', `/gateways/gw1/limits/${id}`);
  });
});
