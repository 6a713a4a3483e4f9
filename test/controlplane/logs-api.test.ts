import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogPage } from '../../src/controlplane/api-types.js';
import { expectError } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

const messages = [{ role: 'user' as const, content: 'hello' }];

/** The logs API explains refusals and finds a request by its id (issue 21, point 1). */
describe('GET /gateways/{g}/logs: explained refusals, request-id search, time range, cursors', () => {
  let gw: TestGateway;
  let seeded: Seeded;
  let client: OpenAI;
  let limitId: string;
  const ids: { ok: string; limited: string; quota: string } = { ok: '', limited: '', quota: '' };

  beforeAll(async () => {
    gw = await startGateway();
    seeded = await seedBasic(gw, { completionTokens: 5 });
    client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: seeded.key, maxRetries: 0 });
    const ok = await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 5 }).withResponse();
    ids.ok = ok.response.headers.get('x-request-id')!;
    // A per-deployment TPM that one request of 100 + prompt fits, but not two (the first settles to what it used) (429 with Retry-After).
    const created = await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', deployment: 'sim-chat', tokensPerMinute: 110 });
    expect(created.status).toBe(201);
    limitId = created.body.id;
    await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 100 });
    const refused = await client.chat.completions.create({ model: 'sim-chat', messages, max_tokens: 100 }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    ids.limited = (refused as InstanceType<typeof OpenAI.APIError>).requestID!;
    await gw.tollgate.ledger!.flush();
  });
  afterAll(() => gw.close());

  it('a refused request names its limit, its scope and kind, what it reserved and had left, and the message its client got', async () => {
    const res = await gw.admin('GET', `/gateways/gw1/logs?requestId=${ids.limited}`);
    expect(res.status).toBe(200);
    const page = res.body as LogPage;
    expect(page.items).toHaveLength(1);
    const entry = page.items[0]!;
    expect(entry).toMatchObject({
      requestId: ids.limited,
      status: 429,
      outcome: 'rate_limited',
      errorCode: 'token_rate_limit_exceeded',
      operation: 'chat.completions',
      stream: false,
      refusal: { limitId, scope: 'per-deployment', kind: 'tpm', limit: 110, neverFits: false },
      maxTokensCapped: null,
    });
    expect(entry.reservedTokens).toBeGreaterThan(100);
    expect(entry.refusal!.remaining).toBeLessThan(entry.reservedTokens!);
    expect(entry.message).toMatch(new RegExp(`^Token limit of 110 tokens per minute is exceeded for project "p1" on deployment "sim-chat" \\(its limit for deployment "sim-chat", id ${limitId}\\)\\. Try again in \\d+ seconds?\\.$`));
  });

  it('an admitted request has no refusal and no message; it kept what it reserved (nothing without a limit)', async () => {
    const entry = ((await gw.admin('GET', `/gateways/gw1/logs?requestId=${ids.ok}`)).body as LogPage).items[0]!;
    expect(entry).toMatchObject({ requestId: ids.ok, outcome: 'ok', refusal: null, message: null, reservedTokens: null });
  });

  it('finds nothing for an unknown request id, and nothing outside the time range', async () => {
    expect(((await gw.admin('GET', '/gateways/gw1/logs?requestId=no-such-id')).body as LogPage).items).toEqual([]);
    const past = ((await gw.admin('GET', `/gateways/gw1/logs?requestId=${ids.limited}&to=2020-01-01T00:00:00Z`)).body as LogPage).items;
    expect(past).toEqual([]);
    const now = ((await gw.admin('GET', `/gateways/gw1/logs?requestId=${ids.limited}&from=${Date.now() - 3_600_000}&to=${Date.now() + 1000}`)).body as LogPage).items;
    expect(now).toHaveLength(1);
  });

  it('answers 400 for a cursor that is not one it gave, and pages with one it gave', async () => {
    expectError(await gw.admin('GET', '/gateways/gw1/logs?cursor=banana'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/gateways/gw1/logs?cursor='), 400, 'validation_failed');
    const first = (await gw.admin('GET', '/gateways/gw1/logs?limit=1')).body as LogPage;
    expect(first.nextCursor).toMatch(/^req_/);
    const second = await gw.admin('GET', `/gateways/gw1/logs?limit=1&cursor=${first.nextCursor}`);
    expect(second.status).toBe(200);
    expect((second.body as LogPage).items[0]!.id < first.items[0]!.id).toBe(true);
  });
});
