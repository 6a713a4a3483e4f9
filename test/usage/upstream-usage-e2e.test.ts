import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens } from '../../src/accounting/count.js';
import { MAX_ANSWER_TOKENS } from '../../src/accounting/usage.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import type { LedgerEntry } from '../../src/usage/ledger.js';
import { poll } from '../support/admin-helpers.js';
import { chatCompletion, sseChunk, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { ledgerKey, startGateway, type TestGateway } from '../support/harness.js';
import { createTestDatabase } from '../support/postgres.js';
import { parsePromText, samplesByLabels } from '../support/prom-text.js';

/** What the upstream generates: counted when its usage cannot be used. */
const ANSWER = 'Forty-two, as always.';
const ANSWER_TOKENS = countTextTokens(ANSWER);
/** xAI's recorded stream: prompt 307, completion 26, total 560 (227 reasoning tokens only in the total). */
const XAI_SSE = readFileSync(new URL('../fixtures/provider-recordings/xai-chat-stream-tools.sse', import.meta.url));
/** A replay writes the recording in pieces of these sizes, so events cross chunk boundaries. */
const PIECES = [1, 7, 64, 3, 200, 13, 2, 500, 31];

/** The usage each non-streamed scenario's upstream reports; the scenario is the prompt's text. */
const REPORTED: Record<string, Record<string, unknown>> = {
  fraction: { prompt_tokens: 10.5, completion_tokens: 3, total_tokens: 13.5 },
  huge: { prompt_tokens: 1e20, completion_tokens: 5, total_tokens: 1e20 },
  negative: { prompt_tokens: -5, completion_tokens: 3, total_tokens: -2 },
  'zero-total': { prompt_tokens: 500, completion_tokens: 500, total_tokens: 0 },
};

const messagesOf = (scenario: string) => [{ role: 'user' as const, content: scenario }];
/** The gateway's prompt estimate for a scenario's request. */
const promptOf = (scenario: string) => countChatPromptTokens(messagesOf(scenario));

type Tokens = { prompt: number; completion: number; total: number };
const tokensOf = (e: LedgerEntry): Tokens => ({ prompt: e.promptTokens, completion: e.completionTokens, total: e.totalTokens });

/**
 * Usage an upstream reports wrongly, end to end on PostgreSQL (whose bigint columns refused the
 * ledger batch of a fractional count): what the limit is charged, what the ledger, the usage
 * rollups and /metrics record, and the warning for a count beyond the bound.
 */
describe('upstream usage, validated end to end', () => {
  let db: { url: string; drop(): Promise<void> };
  let upstream: FakeUpstream;
  let gw: TestGateway;
  const limiter = new MemoryLimiter();
  const logLines: Array<{ level: number; reqId?: string; msg: string }> = [];
  let p1: OpenAI;
  let p2: OpenAI;
  let quotaId = '';

  const used = async () => {
    const rule = (await gw.admin('GET', `/gateways/gw1/limits/${quotaId}`)).body;
    return (await limiter.peek(rule)).quota!.used;
  };
  const ledgerRow = async (requestId: string): Promise<LedgerEntry | undefined> => {
    await gw.tollgate.ledger!.flush();
    return (await gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 100 })).find((e) => e.requestId === requestId);
  };
  /** A non-streamed request of p1: what the limit was charged, the x-tokens-consumed header, the ledger row. */
  const buffered = async (client: OpenAI, scenario: string) => {
    const requestId = `usage-${scenario}-${Math.random().toString(36).slice(2, 8)}`;
    const before = await used();
    const { response } = await client.chat.completions
      .create({ model: 'grok', messages: messagesOf(scenario), max_tokens: 50 }, { headers: { 'x-request-id': requestId } })
      .withResponse();
    return { requestId, charged: (await used()) - before, header: Number(response.headers.get('x-tokens-consumed')), row: await ledgerRow(requestId) };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    upstream = await startFakeUpstream(async (req, res, raw) => {
      const model = String(req.body?.model);
      const scenario = String(req.body?.messages?.at(-1)?.content);
      if (!req.body?.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...chatCompletion(model, ANSWER), usage: REPORTED[scenario] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      if (scenario === 'xai') {
        for (let at = 0, i = 0; at < XAI_SSE.length; i++) {
          const size = PIECES[i % PIECES.length]!;
          res.write(XAI_SSE.subarray(at, at + size));
          at += size;
        }
        res.end();
      } else if (scenario === 'no-usage') {
        // Asked for usage (stream_options.include_usage), this upstream sends none.
        for (const word of ANSWER.split(/(?= )/)) res.write(sseChunk(model, word));
        res.end(`${sseChunk(model, null, 'stop')}data: [DONE]\n\n`);
      } else {
        // 'abort': a long answer, word by word, until the gateway hangs up (its client left).
        let open = true;
        raw.socket.once('close', () => (open = false));
        for (let i = 0; i < 1000 && open; i++) {
          res.write(sseChunk(model, ` word${i}`));
          await sleep(5);
        }
        if (open) res.end('data: [DONE]\n\n');
      }
    });
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    gw = await startGateway({ databaseUrl: db.url, ledgerFlushMs: 20, ledgerRollupMs: 20 }, { limiter, logger });
    const ok = <T>(res: { status: number; body: T }) => {
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      return res.body as any;
    };
    ok(await gw.admin('POST', '/resources', { name: 'r1' }));
    ok(
      await gw.admin('POST', '/resources/r1/deployments', {
        name: 'grok',
        provider: 'openai-compatible',
        upstreamUrl: `${upstream.url}/v1`,
        upstreamModel: 'grok-3-mini',
        upstreamApiKey: 'xai-upstream-secret',
      }),
    );
    ok(await gw.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'new' } }));
    const sdk = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey, maxRetries: 0 });
    p1 = sdk(ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p1' })).keys.primary);
    p2 = sdk(ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' })).keys.primary); // no limit
    // p1: a quota large enough for the bound, so every answer is charged in full and none refused.
    quotaId = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 1_000_000_000, quotaPeriod: 'monthly' })).id;
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await db?.drop();
  });

  it('rounds a fractional count up, in the charge and in the ledger', async () => {
    const r = await buffered(p1, 'fraction');
    expect(tokensOf(r.row!)).toEqual({ prompt: 11, completion: 3, total: 14 });
    expect(r.charged).toBe(14);
    expect(r.header).toBe(14);
  });

  it('cuts a count beyond the bound to it, and warns naming the request', async () => {
    const r = await buffered(p1, 'huge');
    expect(tokensOf(r.row!)).toEqual({ prompt: MAX_ANSWER_TOKENS, completion: 0, total: MAX_ANSWER_TOKENS });
    expect(r.charged).toBe(MAX_ANSWER_TOKENS);
    const warning = logLines.find((l) => l.reqId === r.requestId);
    expect(warning).toMatchObject({ level: 40, bound: MAX_ANSWER_TOKENS });
    expect(warning!.msg).toMatch(/more tokens than any answer/);
  });

  it('counts the text when a count is negative, as if no usage had come', async () => {
    const r = await buffered(p1, 'negative');
    const expected = { prompt: promptOf('negative'), completion: ANSWER_TOKENS, total: promptOf('negative') + ANSWER_TOKENS };
    expect(tokensOf(r.row!)).toEqual(expected);
    expect(r.charged).toBe(expected.total);
  });

  it('takes prompt + completion when the total is 0 beside 500 + 500', async () => {
    const r = await buffered(p1, 'zero-total');
    expect(tokensOf(r.row!)).toEqual({ prompt: 500, completion: 500, total: 1000 });
    expect(r.charged).toBe(1000);
    expect(r.header).toBe(1000);
  });

  it("counts xAI's reasoning tokens, reported only in the total, as completion (recorded stream)", async () => {
    const requestId = 'usage-xai';
    const before = await used();
    const stream = await p1.chat.completions.create({ model: 'grok', messages: messagesOf('xai'), stream: true }, { headers: { 'x-request-id': requestId } });
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.usage ?? null).toBeNull(); // the usage chunk the gateway asked for is not passed on
    }
    expect(chunks).toBeGreaterThan(10);
    expect(tokensOf((await ledgerRow(requestId))!)).toEqual({ prompt: 307, completion: 253, total: 560 });
    expect((await used()) - before).toBe(560);
  });

  it('records the prompt of a stream without usage on a project with no limit', async () => {
    const requestId = 'usage-no-usage-unlimited';
    const stream = await p2.chat.completions.create({ model: 'grok', messages: messagesOf('no-usage'), stream: true }, { headers: { 'x-request-id': requestId } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(ANSWER);
    const prompt = promptOf('no-usage');
    expect(prompt).toBeGreaterThan(0);
    expect(tokensOf((await ledgerRow(requestId))!)).toEqual({ prompt, completion: ANSWER_TOKENS, total: prompt + ANSWER_TOKENS });
  });

  it('records the prompt of a non-streamed answer without usable usage on a project with no limit', async () => {
    const r = await buffered(p2, 'negative');
    expect(tokensOf(r.row!)).toEqual({ prompt: promptOf('negative'), completion: ANSWER_TOKENS, total: promptOf('negative') + ANSWER_TOKENS });
    expect(r.header).toBe(promptOf('negative') + ANSWER_TOKENS);
  });

  it('records the prompt of a stream its client left, on a project with no limit', async () => {
    const requestId = 'usage-abort-unlimited';
    const controller = new AbortController();
    const stream = await p2.chat.completions.create(
      { model: 'grok', messages: messagesOf('abort'), stream: true },
      { headers: { 'x-request-id': requestId }, signal: controller.signal },
    );
    let words = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) words++;
        if (words === 3) controller.abort();
      }
    } catch {
      // the abort ends the iteration
    }
    const row = await poll(
      () => ledgerRow(requestId),
      (e) => e !== undefined,
    );
    expect(row!.outcome).toBe('client_aborted');
    expect(row!.promptTokens).toBe(promptOf('abort'));
    expect(row!.completionTokens).toBeGreaterThanOrEqual(3);
    expect(row!.totalTokens).toBe(row!.promptTokens + row!.completionTokens);
  });

  it('keeps every row, and prompt + completion = total in the ledger, the usage rollups and /metrics', async () => {
    const ledger = gw.tollgate.ledger!;
    await ledger.flush();
    expect(ledger.dropped).toBe(0);
    const rows = await gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 100 });
    expect(rows).toHaveLength(8);
    for (const e of rows) expect(e.promptTokens + e.completionTokens, e.requestId).toBe(e.totalTokens);

    const sums: Record<string, Tokens> = {};
    for (const e of rows) {
      const s = (sums[e.project] ??= { prompt: 0, completion: 0, total: 0 });
      s.prompt += e.promptTokens;
      s.completion += e.completionTokens;
      s.total += e.totalTokens;
    }
    const points = await gw.tollgate.store.usage.usage({ gateway: await ledgerKey(gw), fromMs: 0, toMs: Date.now() + 86_400_000, interval: 'day', groupBy: 'project' });
    const rolled: Record<string, Tokens> = {};
    for (const p of points) {
      const s = (rolled[p.group!] ??= { prompt: 0, completion: 0, total: 0 });
      s.prompt += p.tokens.prompt;
      s.completion += p.tokens.completion;
      s.total += p.tokens.total;
    }
    expect(rolled).toEqual(sums);

    const samples = parsePromText(await gw.tollgate.metrics.registry.metrics());
    expect(samplesByLabels(samples, 'tollgate_tokens_total', ['project', 'type'])).toEqual({
      'p1|prompt': sums.p1!.prompt,
      'p1|completion': sums.p1!.completion,
      'p2|prompt': sums.p2!.prompt,
      'p2|completion': sums.p2!.completion,
    });
    expect(samplesByLabels(samples, 'tollgate_ledger_dropped_total', ['reason'])).toEqual({ queue_full: 0, rejected: 0 });
  });
});
