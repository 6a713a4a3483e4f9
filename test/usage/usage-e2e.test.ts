import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/accounting/count.js';
import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { INTERVAL_MS, OUTCOMES, type LedgerEntry, type Outcome, type UsageInterval, type UsagePoint } from '../../src/usage/ledger.js';
import { expectError, poll } from '../support/admin-helpers.js';
import { ledgerKey, seedBasic, startGateway, type TestGateway } from '../support/harness.js';
import { parsePromText, samplesByLabels } from '../support/prom-text.js';

const messages = [{ role: 'user' as const, content: 'Count my tokens, please.' }];
const PROMPT = countChatPromptTokens(messages);
/** The prompt sent while the gateway logs content: it must come back in the log entry. */
const SECRET_PROMPT = 'Please remember the phrase zebra-quartz-42 for me.';
const contentMessages = [{ role: 'user' as const, content: SECRET_PROMPT }];
/** completionTokens of sim-chat and sim-b: the simulated model's natural answer length. */
const COMPLETION = 10;
/** sim-slow: a long, slow stream that the client leaves. */
const SLOW_TOKENS = 200;
const P1_QUOTA = 1_000_000;
const P2_TPM = PROMPT + COMPLETION; // one request of max_tokens 10 fits in the minute
const P2_QUOTA = 2 * (PROMPT + COMPLETION); // two fit in the day
const BAD_KEY = `tgk_${'x'.repeat(32)}`;

/** What the test sent, and what the gateway must have recorded for it. */
interface Sent {
  requestId: string;
  /** null: the request never reached a project (bad key), so it is not in the ledger. */
  project: string | null;
  deployment: string | null;
  outcome: Outcome;
  status: number;
  stream: boolean;
  errorCode: string | null;
  upstreamStatus: number | null;
  /** Held a reservation (counted as an admitted limiter decision). */
  admitted: boolean;
  /** Got an upstream answer that the gateway read to the end (upstreamMs is set). */
  forwarded: boolean;
  /** Exact tokens; for the aborted stream, filled in from the ledger once its bounds are checked. */
  tokens: { prompt: number; completion: number } | null;
}

type Tally = { requests: Record<Outcome | 'total', number>; tokens: { prompt: number; completion: number; total: number }; cost: Record<string, unknown> };

function tally(list: readonly Sent[]): Tally {
  const requests = { total: 0, ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])) } as Record<Outcome | 'total', number>;
  const tokens = { prompt: 0, completion: 0, total: 0 };
  for (const s of list) {
    requests.total++;
    requests[s.outcome]++;
    tokens.prompt += s.tokens?.prompt ?? 0;
    tokens.completion += s.tokens?.completion ?? 0;
    tokens.total += (s.tokens?.prompt ?? 0) + (s.tokens?.completion ?? 0);
  }
  // No deployment here has prices: no cost.
  return { requests, tokens, cost: {} };
}

function sumPoints(points: ReadonlyArray<Pick<UsagePoint, 'requests' | 'tokens'>>): Tally {
  const requests = { total: 0, ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])) } as Record<Outcome | 'total', number>;
  const tokens = { prompt: 0, completion: 0, total: 0 };
  for (const p of points) {
    for (const key of Object.keys(requests) as Array<Outcome | 'total'>) requests[key] += p.requests[key];
    tokens.prompt += p.tokens.prompt;
    tokens.completion += p.tokens.completion;
    tokens.total += p.tokens.total;
  }
  // No deployment here has prices: no cost.
  return { requests, tokens, cost: {} };
}

const countBy = <T>(list: readonly T[], key: (item: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of list) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

/**
 * The request ledger, its rollups, the usage and logs APIs and /metrics after a known sequence of
 * requests: all must report exactly the same counts and tokens. The openai SDK is the client; the
 * limiter runs on a frozen clock so 429s and 403s are deterministic.
 */
describe('usage accounting end to end', () => {
  let gw: TestGateway;
  const now = Date.UTC(2026, 10, 18, 10, 0, 0, 250);
  const limiter = new MemoryLimiter({ clock: () => now });
  const sent: Sent[] = [];
  const limitIds = { p1Quota: '', p2Tpm: '', p2Quota: '' };
  let startedMs = 0;
  let entries: LedgerEntry[] = [];
  let contentRequestId = '';
  let contentCompletion = '';

  const reached = () => sent.filter((s) => s.project !== null);
  const byRequestId = (id: string) => entries.find((e) => e.requestId === id);
  const observedRequests = async () => {
    const metric = await gw.tollgate.metrics.registry.getSingleMetric('tollgate_requests_total')?.get();
    return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  };

  beforeAll(async () => {
    startedMs = Date.now();
    gw = await startGateway({ ledgerFlushMs: 20, ledgerRollupMs: 20 }, { limiter });
    const seeded = await seedBasic(gw, { completionTokens: COMPLETION });
    const ok = (res: { status: number; body: any }, status = 201) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      return res.body;
    };
    const deployment = (name: string, options: Record<string, unknown>) =>
      gw.admin('POST', '/resources/r1/deployments', { name, provider: 'simulated', options }).then((r) => ok(r));
    await deployment('sim-b', { completionTokens: COMPLETION });
    await deployment('sim-slow', { completionTokens: SLOW_TOKENS, chunkDelayMs: 15 });
    await deployment('sim-broken', { failWithStatus: 500 });
    const p2 = ok(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }));
    // p1: a project-wide quota that never refuses, so every p1 request holds a reservation.
    limitIds.p1Quota = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: P1_QUOTA, quotaPeriod: 'monthly' })).id;
    // p2: tiny limits that refuse deterministically: 429 on sim-chat, 403 on sim-b.
    limitIds.p2Tpm = ok(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p2', deployment: 'sim-chat', tokensPerMinute: P2_TPM })).id;
    limitIds.p2Quota = ok(
      await gw.admin('POST', '/gateways/gw1/limits', { project: 'p2', deployment: 'sim-b', tokenQuota: P2_QUOTA, quotaPeriod: 'daily' }),
    ).id;

    const sdk = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey, maxRetries: 0 });
    const c1 = sdk(seeded.key);
    const c2 = sdk(p2.keys.primary as string);
    const bad = sdk(BAD_KEY);
    let seq = 0;
    const nextId = () => `usage-e2e-${String(++seq).padStart(2, '0')}`;

    const success = async (client: OpenAI, project: string, model: string, maxTokens: number, msgs = messages) => {
      const requestId = nextId();
      const res = await client.chat.completions.create({ model, messages: msgs, max_tokens: maxTokens }, { headers: { 'x-request-id': requestId } });
      const prompt = countChatPromptTokens(msgs);
      const completion = Math.min(maxTokens, COMPLETION);
      expect(res.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
      sent.push({
        requestId,
        project,
        deployment: model,
        outcome: 'ok',
        status: 200,
        stream: false,
        errorCode: null,
        upstreamStatus: 200,
        admitted: true,
        forwarded: true,
        tokens: { prompt, completion },
      });
      return res;
    };
    const refused = async (
      client: OpenAI,
      project: string | null,
      model: string,
      expected: { status: number; code: string; outcome: Outcome; admitted?: boolean; forwarded?: boolean; upstreamStatus?: number },
    ) => {
      const requestId = nextId();
      const err = await client.chat.completions
        .create({ model, messages, max_tokens: 10 }, { headers: { 'x-request-id': requestId } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      const e = err as InstanceType<typeof OpenAI.APIError>;
      expect({ status: e.status, code: e.code }).toEqual({ status: expected.status, code: expected.code });
      const upstream = expected.upstreamStatus ?? null;
      sent.push({
        requestId,
        project,
        deployment: project === null || expected.code === 'deployment_not_found' ? null : model,
        outcome: expected.outcome,
        status: expected.status,
        stream: false,
        // An upstream's own error answer is relayed as is: no gateway error code.
        errorCode: upstream === null ? expected.code : null,
        upstreamStatus: upstream,
        admitted: expected.admitted ?? false,
        forwarded: expected.forwarded ?? false,
        tokens: { prompt: 0, completion: 0 },
      });
    };

    // p1: successes on deployment A (sim-chat) and B, completion = min(max_tokens, 10).
    await success(c1, 'p1', 'sim-chat', 4);
    await success(c1, 'p1', 'sim-chat', 10);
    await success(c1, 'p1', 'sim-chat', 50);
    await success(c1, 'p1', 'sim-b', 7);

    // p1: a stream without include_usage: no usage chunk for the client, exact tokens all the same.
    {
      const requestId = nextId();
      const stream = await c1.chat.completions.create(
        { model: 'sim-chat', messages, stream: true, max_tokens: 30 },
        { headers: { 'x-request-id': requestId } },
      );
      let text = '';
      let sawUsage = false;
      for await (const chunk of stream) {
        if (chunk.usage || chunk.choices.length === 0) sawUsage = true;
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(sawUsage).toBe(false);
      expect(text).toMatch(/^Hello/);
      sent.push({
        requestId,
        project: 'p1',
        deployment: 'sim-chat',
        outcome: 'ok',
        status: 200,
        stream: true,
        errorCode: null,
        upstreamStatus: 200,
        admitted: true,
        forwarded: true,
        tokens: { prompt: PROMPT, completion: COMPLETION },
      });
    }

    // p1: a slow stream the client leaves after 5 tokens: charged for what was generated.
    {
      const requestId = nextId();
      const controller = new AbortController();
      const stream = await c1.chat.completions.create(
        { model: 'sim-slow', messages, stream: true, max_tokens: SLOW_TOKENS },
        { headers: { 'x-request-id': requestId }, signal: controller.signal },
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
      expect(chunks).toBe(5);
      sent.push({
        requestId,
        project: 'p1',
        deployment: 'sim-slow',
        outcome: 'client_aborted',
        status: 499,
        stream: true,
        errorCode: null,
        upstreamStatus: 200,
        admitted: true,
        forwarded: false,
        tokens: null,
      });
      // The gateway finishes the exchange once it notices the disconnect: wait for it (bounded).
      expect(await poll(observedRequests, (n) => n === sent.length, 250, 20)).toBe(sent.length);
    }

    // p1: the upstream fails (relayed as is, reservation released), and an unknown deployment.
    await refused(c1, 'p1', 'sim-broken', { status: 500, code: 'simulated_failure', outcome: 'upstream_error', admitted: true, forwarded: true, upstreamStatus: 500 });
    await refused(c1, 'p1', 'no-such-deployment', { status: 404, code: 'deployment_not_found', outcome: 'rejected' });

    // p1: one request while the gateway logs content, one after it stopped again.
    expect(ok(await gw.admin('PATCH', '/gateways/gw1', { logContent: true }), 200)).toMatchObject({ logContent: true });
    const logged = await success(c1, 'p1', 'sim-chat', 3, contentMessages);
    contentRequestId = sent.at(-1)!.requestId;
    contentCompletion = logged.choices[0]?.message.content ?? '';
    expect(contentCompletion).toMatch(/^Hello \w+ \w+$/);
    expect(ok(await gw.admin('PATCH', '/gateways/gw1', { logContent: false }), 200)).toMatchObject({ logContent: false });
    await success(c1, 'p1', 'sim-chat', 10);

    // p2: one fits the TPM, then two 429s; two fit the daily quota, then two 403s.
    await success(c2, 'p2', 'sim-chat', 10);
    await refused(c2, 'p2', 'sim-chat', { status: 429, code: 'token_rate_limit_exceeded', outcome: 'rate_limited' });
    await refused(c2, 'p2', 'sim-chat', { status: 429, code: 'token_rate_limit_exceeded', outcome: 'rate_limited' });
    await success(c2, 'p2', 'sim-b', 10);
    await success(c2, 'p2', 'sim-b', 10);
    await refused(c2, 'p2', 'sim-b', { status: 403, code: 'token_quota_exceeded', outcome: 'quota_exceeded' });
    await refused(c2, 'p2', 'sim-b', { status: 403, code: 'token_quota_exceeded', outcome: 'quota_exceeded' });

    // No project: counted in the metrics only, never in the ledger.
    await refused(bad, null, 'sim-chat', { status: 401, code: 'invalid_api_key', outcome: 'rejected' });

    // Every exchange is over (observers told), then the ledger is written.
    expect(await poll(observedRequests, (n) => n === sent.length, 250, 20)).toBe(sent.length);
    await gw.tollgate.ledger!.flush();
    entries = await gw.tollgate.store.usage.logs({ gateway: await ledgerKey(gw), limit: 10_000 });

    // The aborted stream's tokens are known only within bounds (checked below); take them as recorded.
    const aborted = sent.find((s) => s.outcome === 'client_aborted')!;
    const e = byRequestId(aborted.requestId);
    if (e) aborted.tokens = { prompt: e.promptTokens, completion: e.completionTokens };
  });

  afterAll(() => gw?.close());

  it('keeps exactly one ledger entry per request that reached a project, as it happened', async () => {
    expect(gw.tollgate.ledger!.pending).toBe(0);
    expect(gw.tollgate.ledger!.dropped).toBe(0);
    expect(sent).toHaveLength(18);
    expect(reached()).toHaveLength(17);
    expect(entries.map((e) => e.requestId).sort()).toEqual(
      reached()
        .map((s) => s.requestId)
        .sort(),
    );
    expect(entries.some((e) => e.requestId === sent.at(-1)!.requestId)).toBe(false); // the bad key

    for (const s of reached()) {
      const e = byRequestId(s.requestId)!;
      expect(
        {
          gateway: e.gateway,
          project: e.project,
          deployment: e.deployment,
          operation: e.operation,
          stream: e.stream,
          status: e.status,
          outcome: e.outcome,
          errorCode: e.errorCode,
          upstreamStatus: e.upstreamStatus,
          upstreamMsSet: e.upstreamMs !== null,
          overheadMsSet: e.overheadMs !== null,
        },
        s.requestId,
      ).toEqual({
        gateway: await ledgerKey(gw),
        project: s.project,
        deployment: s.deployment,
        operation: 'chat.completions',
        stream: s.stream,
        status: s.status,
        outcome: s.outcome,
        errorCode: s.errorCode,
        upstreamStatus: s.upstreamStatus,
        upstreamMsSet: s.forwarded,
        overheadMsSet: s.forwarded,
      });
      expect(e.atMs).toBeGreaterThanOrEqual(startedMs);
      expect(e.latencyMs).toBeGreaterThanOrEqual(0);
      expect(e.content === null, s.requestId).toBe(s.requestId !== contentRequestId);
      if (s.outcome === 'client_aborted') {
        // Prompt plus what was generated before the client left: more than the prompt and the 5
        // tokens the client read, less than the reservation (prompt + max_tokens).
        expect(e.promptTokens).toBe(PROMPT);
        expect(e.completionTokens).toBeGreaterThanOrEqual(5);
        expect(e.totalTokens).toBe(e.promptTokens + e.completionTokens);
        expect(e.totalTokens).toBeLessThan(PROMPT + SLOW_TOKENS);
      } else {
        const t = s.tokens!;
        expect({ prompt: e.promptTokens, completion: e.completionTokens, total: e.totalTokens }, s.requestId).toEqual({
          prompt: t.prompt,
          completion: t.completion,
          total: t.prompt + t.completion,
        });
      }
    }
  });

  it('pages through the logs API newest first, every entry exactly once', async () => {
    const items: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await gw.admin('GET', `/gateways/gw1/logs?${query}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (cursor !== null) expect(cursor).toBe(res.body.items.at(-1).id);
      pages++;
    } while (cursor !== null && pages < 50);
    expect(cursor).toBeNull();
    expect(pages).toBe(Math.ceil(reached().length / 3));
    expect(items).toHaveLength(reached().length);

    const ids = items.map((i) => i.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! < ids[i - 1]!, `${ids[i]} after ${ids[i - 1]}`).toBe(true);
      expect(Date.parse(items[i].time)).toBeLessThanOrEqual(Date.parse(items[i - 1].time));
    }
    expect(countBy(items, (i) => i.outcome)).toEqual(countBy(reached(), (s) => s.outcome));
    expect(items.map((i) => i.requestId).sort()).toEqual(
      reached()
        .map((s) => s.requestId)
        .sort(),
    );

    for (const s of reached()) {
      const item = items.find((i) => i.requestId === s.requestId);
      const t = s.tokens!;
      expect(item.tokens, s.requestId).toEqual({ prompt: t.prompt, completion: t.completion, total: t.prompt + t.completion });
      expect({ project: item.project, deployment: item.deployment, outcome: item.outcome, status: item.status, stream: item.stream }).toEqual({
        project: s.project,
        deployment: s.deployment,
        outcome: s.outcome,
        status: s.status,
        stream: s.stream,
      });
    }
  });

  it('filters the logs by outcome, project and deployment, and bounds the page size', async () => {
    const logs = async (query: string) => {
      const res = await gw.admin('GET', `/gateways/gw1/logs?limit=500&${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.nextCursor).toBeNull();
      return (res.body.items as any[]).map((i) => i.requestId as string).sort();
    };
    const ids = (pred: (s: Sent) => boolean) =>
      reached()
        .filter(pred)
        .map((s) => s.requestId)
        .sort();

    for (const outcome of OUTCOMES) expect(await logs(`outcome=${outcome}`), outcome).toEqual(ids((s) => s.outcome === outcome));
    expect(await logs('outcome=rate_limited')).toHaveLength(2);
    expect(await logs('project=p2')).toEqual(ids((s) => s.project === 'p2'));
    expect(await logs('project=p1')).toEqual(ids((s) => s.project === 'p1'));
    expect(await logs('deployment=sim-b')).toEqual(ids((s) => s.deployment === 'sim-b'));
    expect(await logs('deployment=sim-slow')).toHaveLength(1);
    expect(await logs('project=p2&outcome=quota_exceeded')).toEqual(ids((s) => s.project === 'p2' && s.outcome === 'quota_exceeded'));
    expect(await logs('project=nobody')).toEqual([]);
    // Time windows: [from, to) on the request's start, in ms or ISO 8601.
    const atMs = entries.map((e) => e.atMs);
    const first = Math.min(...atMs);
    const latest = Math.max(...atMs);
    expect(await logs(`from=${first}&to=${latest + 1}`)).toEqual(ids(() => true));
    expect(await logs(`from=${new Date(first).toISOString()}`)).toEqual(ids(() => true));
    expect(await logs(`from=${latest + 1}`)).toEqual([]);
    expect(await logs(`to=${first}`)).toEqual([]);
    expect(await logs(`to=${latest}`)).toEqual(entries.filter((e) => e.atMs < latest).map((e) => e.requestId).sort());
    expectError(await gw.admin('GET', '/gateways/nope/logs'), 404, 'not_found');

    // A page of exactly the number of entries has no next page; one fewer has.
    const all = await gw.admin('GET', `/gateways/gw1/logs?limit=${reached().length}`);
    expect(all.body.items).toHaveLength(reached().length);
    expect(all.body.nextCursor).toBeNull();
    const short = await gw.admin('GET', `/gateways/gw1/logs?limit=${reached().length - 1}`);
    expect(short.body.nextCursor).toBe(short.body.items.at(-1).id);
    const last = await gw.admin('GET', `/gateways/gw1/logs?limit=5&cursor=${short.body.nextCursor}`);
    expect(last.body.items).toHaveLength(1);
    expect(last.body.nextCursor).toBeNull();

    expectError(await gw.admin('GET', '/gateways/gw1/logs?limit=0'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/gateways/gw1/logs?limit=501'), 400, 'validation_failed');
    expectError(await gw.admin('GET', '/gateways/gw1/logs?outcome=fine'), 400, 'validation_failed');
    expect((await gw.admin('GET', '/gateways/gw1/logs?limit=500')).status).toBe(200);
    expect((await gw.admin('GET', '/gateways/gw1/logs?limit=1')).body.items).toHaveLength(1);
  });

  it('reports the same totals from the usage API, per interval and grouped', async () => {
    const from = startedMs - 1000;
    const to = Date.now() + 1000;
    const usage = async (query: string) => {
      const res = await gw.admin('GET', `/gateways/gw1/usage?from=${from}&to=${to}&${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const expected = tally(reached());
    expect(expected.requests).toMatchObject({ total: 17, ok: 10, rate_limited: 2, quota_exceeded: 2, rejected: 1, upstream_error: 1, client_aborted: 1 });

    for (const interval of ['minute', 'hour', 'day'] as const satisfies readonly UsageInterval[]) {
      const body = await usage(`interval=${interval}`);
      expect(body).toMatchObject({ gateway: 'gw1', interval, groupBy: null });
      expect(body.totals, interval).toEqual(expected);
      expect(body.series).toHaveLength(1);
      const points = body.series[0].points as any[];
      expect(sumPoints(points)).toEqual(expected);
      for (const p of points) expect(Date.parse(p.t) % INTERVAL_MS[interval]).toBe(0);

      for (const groupBy of ['project', 'deployment'] as const) {
        const grouped = await usage(`interval=${interval}&groupBy=${groupBy}`);
        expect(grouped.groupBy).toBe(groupBy);
        expect(grouped.totals, `${interval} by ${groupBy}`).toEqual(expected);
        const groups = new Map<string | null, Sent[]>();
        for (const s of reached()) groups.set(s[groupBy], [...(groups.get(s[groupBy]) ?? []), s]);
        const keys = (grouped.series as any[]).map((g) => g[groupBy] as string | null);
        expect(new Set(keys).size).toBe(keys.length);
        expect([...keys].sort()).toEqual([...groups.keys()].sort());
        for (const series of grouped.series as any[]) {
          expect(Object.keys(series).sort()).toEqual(['group', groupBy, 'points'].sort());
          expect(sumPoints(series.points), `${interval} ${groupBy}=${series[groupBy]}`).toEqual(tally(groups.get(series[groupBy])!));
        }
      }
    }
    // The unknown deployment's request is grouped under deployment null.
    const byDeployment = await usage('interval=hour&groupBy=deployment');
    expect((byDeployment.series as any[]).map((g) => g.deployment).sort()).toEqual([null, 'sim-b', 'sim-broken', 'sim-chat', 'sim-slow'].sort());

    // Filters.
    expect((await usage('interval=day&project=p2')).totals).toEqual(tally(reached().filter((s) => s.project === 'p2')));
    expect((await usage('interval=minute&deployment=sim-b')).totals).toEqual(tally(reached().filter((s) => s.deployment === 'sim-b')));
    // The default range (the last day, to now) holds everything too.
    expect((await gw.admin('GET', '/gateways/gw1/usage?interval=day')).body.totals).toEqual(expected);
    expectError(await gw.admin('GET', '/gateways/gw1/usage?interval=week'), 400, 'validation_failed');
  });

  it('keeps rollups for every interval that agree with the ledger', async () => {
    const expected = tally(reached());
    // Entries are the source of truth: the rollups must add up to them.
    const fromLedger = {
      requests: { total: entries.length, ...Object.fromEntries(OUTCOMES.map((o) => [o, entries.filter((e) => e.outcome === o).length])) },
      tokens: {
        prompt: entries.reduce((n, e) => n + e.promptTokens, 0),
        completion: entries.reduce((n, e) => n + e.completionTokens, 0),
        total: entries.reduce((n, e) => n + e.totalTokens, 0),
      },
      cost: {},
    };
    expect(fromLedger).toEqual(expected);
    const latencySum = entries.reduce((n, e) => n + e.latencyMs, 0);
    for (const interval of ['minute', 'hour', 'day'] as const) {
      const q = { gateway: await ledgerKey(gw), fromMs: startedMs - 1000, toMs: Date.now() + 1000, interval };
      const points = await gw.tollgate.store.usage.usage(q);
      expect(points.length).toBeGreaterThanOrEqual(1);
      expect(sumPoints(points), interval).toEqual(expected);
      expect(points.reduce((n, p) => n + p.latencyMsSum, 0)).toBeCloseTo(latencySum, 1);
      for (const p of points) {
        expect(p.group).toBeNull();
        expect(p.bucketMs % INTERVAL_MS[interval]).toBe(0);
      }
      const byProject = await gw.tollgate.store.usage.usage({ ...q, groupBy: 'project' });
      expect(new Set(byProject.map((p) => p.group))).toEqual(new Set(['p1', 'p2']));
      for (const project of ['p1', 'p2']) {
        expect(sumPoints(byProject.filter((p) => p.group === project))).toEqual(tally(reached().filter((s) => s.project === project)));
      }
      const byDeployment = await gw.tollgate.store.usage.usage({ ...q, groupBy: 'deployment' });
      // The store keeps "no deployment" as the empty name.
      expect(new Set(byDeployment.map((p) => p.group))).toEqual(new Set(['', 'sim-chat', 'sim-b', 'sim-slow', 'sim-broken']));
      expect(sumPoints(byDeployment.filter((p) => p.group === ''))).toEqual(tally(reached().filter((s) => s.deployment === null)));
      const p2OnSimB = await gw.tollgate.store.usage.usage({ ...q, project: 'p2', deployment: 'sim-b' });
      expect(sumPoints(p2OnSimB)).toEqual(tally(reached().filter((s) => s.project === 'p2' && s.deployment === 'sim-b')));
    }
  });

  it('exports the same counts and tokens in /metrics, with names only as labels', async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('tgk_');
    expect(text).not.toContain(BAD_KEY);
    const samples = parsePromText(text);
    const label = (v: string | null) => v ?? 'none';

    const requests: Record<string, number> = {};
    const tokens: Record<string, number> = {};
    const durations: Record<string, number> = {};
    const upstreamDurations: Record<string, number> = {};
    for (const s of sent) {
      const gateway = s.project === null ? 'none' : 'gw1';
      const base = `${gateway}|${label(s.project)}|${label(s.deployment)}`;
      requests[`${base}|${s.outcome}`] = (requests[`${base}|${s.outcome}`] ?? 0) + 1;
      if (s.tokens?.prompt) tokens[`${base}|prompt`] = (tokens[`${base}|prompt`] ?? 0) + s.tokens.prompt;
      if (s.tokens?.completion) tokens[`${base}|completion`] = (tokens[`${base}|completion`] ?? 0) + s.tokens.completion;
      const d = `${gateway}|${label(s.deployment)}`;
      durations[d] = (durations[d] ?? 0) + 1;
      if (s.forwarded) upstreamDurations[d] = (upstreamDurations[d] ?? 0) + 1;
    }
    expect(samplesByLabels(samples, 'tollgate_requests_total', ['gateway', 'project', 'deployment', 'outcome'])).toEqual(requests);
    expect(samplesByLabels(samples, 'tollgate_tokens_total', ['gateway', 'project', 'deployment', 'type'])).toEqual(tokens);
    expect(samplesByLabels(samples, 'tollgate_request_duration_seconds_count', ['gateway', 'deployment'])).toEqual(durations);
    expect(samplesByLabels(samples, 'tollgate_upstream_duration_seconds_count', ['gateway', 'deployment'])).toEqual(upstreamDurations);
    expect(samplesByLabels(samples, 'tollgate_limiter_decisions_total', ['decision'])).toEqual({
      admitted: sent.filter((s) => s.admitted).length,
      rate_limited: sent.filter((s) => s.outcome === 'rate_limited').length,
      quota_exceeded: sent.filter((s) => s.outcome === 'quota_exceeded').length,
    });
    expect(samplesByLabels(samples, 'tollgate_limiter_decisions_total', ['decision'])).toEqual({ admitted: 12, rate_limited: 2, quota_exceeded: 2 });
    expect(samplesByLabels(samples, 'tollgate_ledger_dropped_total', ['reason'])).toEqual({ queue_full: 0, rejected: 0 });

    // Labels are configuration names only: never keys, ids or request ids.
    const backendOutcomes = ['ok', 'failed_over', 'error', 'tripped_skip'];
    const allowed = new Set(['gw1', 'p1', 'p2', 'none', 'sim-chat', 'sim-b', 'sim-slow', 'sim-broken', ...OUTCOMES, ...backendOutcomes, 'prompt', 'completion', 'admitted', 'queue_full', 'rejected']);
    for (const s of samples.filter((x) => x.name.startsWith('tollgate_'))) {
      for (const [name, value] of Object.entries(s.labels)) {
        if (name === 'le') continue;
        expect(allowed.has(value), `${s.name}{${name}="${value}"}`).toBe(true);
      }
    }
  });

  it('reports limit standing consistent with what was admitted and settled', async () => {
    const status = async (id: string) => {
      const res = await gw.admin('GET', `/gateways/gw1/limits/${id}/status`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const p1Used = tally(reached().filter((s) => s.project === 'p1')).tokens.total;
    const p1 = await status(limitIds.p1Quota);
    expect(p1).toMatchObject({ id: limitIds.p1Quota, project: 'p1', deployment: null, tpm: null });
    expect(p1.quota).toMatchObject({ limit: P1_QUOTA, used: p1Used, remaining: P1_QUOTA - p1Used, period: 'monthly' });
    expect(p1.quota.periodStart).toBe(new Date(Date.UTC(2026, 10, 1)).toISOString());

    const tpm = await status(limitIds.p2Tpm);
    expect(tpm).toMatchObject({ project: 'p2', deployment: 'sim-chat', quota: null });
    expect(tpm.tpm).toMatchObject({ limit: P2_TPM, used: PROMPT + COMPLETION, remaining: 0 });

    const quota = await status(limitIds.p2Quota);
    expect(quota).toMatchObject({ project: 'p2', deployment: 'sim-b', tpm: null });
    expect(quota.quota).toMatchObject({ limit: P2_QUOTA, used: 2 * (PROMPT + COMPLETION), remaining: 0, period: 'daily' });
    expect(quota.quota.resetAt).toBe(new Date(Date.UTC(2026, 10, 19)).toISOString());
  });

  it('keeps prompt and completion only while the gateway logs content', async () => {
    expect(contentRequestId).not.toBe('');
    const res = await gw.admin('GET', '/gateways/gw1/logs?project=p1&limit=500');
    const items = res.body.items as any[];
    const logged = items.find((i) => i.requestId === contentRequestId);
    expect(logged.content).not.toBeNull();
    expect(typeof logged.content.request).toBe('string');
    expect(typeof logged.content.response).toBe('string');
    expect(logged.content.request).toContain(SECRET_PROMPT);
    expect(logged.content.response).toContain(contentCompletion);
    for (const item of items.filter((i) => i.requestId !== contentRequestId)) expect(item.content, item.requestId).toBeNull();
    // The key never ends up in the ledger, content or not.
    expect(JSON.stringify(items)).not.toContain('tgk_');
    expect((await gw.admin('GET', '/gateways/gw1')).body.logContent).toBe(false);
  });
});

describe('metrics token', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ metricsToken: 'secret-metrics-token' });
  });
  afterAll(() => gw?.close());

  it('guards /metrics with its bearer token when one is set', async () => {
    const get = (headers: Record<string, string> = {}) => fetch(`${gw.url}/metrics`, { headers });
    const none = await get();
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('unauthorized');
    expect((await get({ authorization: 'Bearer wrong-token' })).status).toBe(401);
    const ok = await get({ authorization: 'Bearer secret-metrics-token' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toContain('# TYPE tollgate_requests_total counter');
  });
});
