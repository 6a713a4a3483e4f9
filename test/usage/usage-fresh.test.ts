import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliOk, SLOW } from '../support/cli.js';
import { startNode, uniquePrefix, within, type ClusterNode } from '../support/cluster.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';
import { createTestDatabase, query } from '../support/postgres.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Far beyond the test: a usage answer within a second cannot come from the rollups. */
const ROLLUP_MS = 60_000;
const messages = [{ role: 'user' as const, content: 'Count me at once, please.' }];

interface Totals {
  requests: { total: number; ok: number };
  tokens: { prompt: number; completion: number; total: number };
}
type Admin = (method: string, path: string) => Promise<{ status: number; body: any }>;

/** Sends `count` chat completions with the openai SDK; answers the tokens they used. */
async function send(baseUrl: string, key: string, count: number, model: string): Promise<Totals['tokens']> {
  const client = new OpenAI({ baseURL: `${baseUrl}/openai/v1`, apiKey: key, maxRetries: 0 });
  const used = { prompt: 0, completion: 0, total: 0 };
  for (let i = 0; i < count; i++) {
    const res = await client.chat.completions.create({ model, messages, max_tokens: 20 });
    used.prompt += res.usage!.prompt_tokens;
    used.completion += res.usage!.completion_tokens;
    used.total += res.usage!.total_tokens;
  }
  return used;
}

const add = (a: Totals['tokens'], b: Totals['tokens']) => ({ prompt: a.prompt + b.prompt, completion: a.completion + b.completion, total: a.total + b.total });

/** The usage API's totals for the last hour, by minute (the console's and the CLI's default view). */
async function usageTotals(admin: Admin, gateway: string, query = ''): Promise<Totals> {
  const res = await admin('GET', `/gateways/${gateway}/usage?interval=minute${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.totals as Totals;
}

/** Polls the usage API until it counts `requests`; answers how long that took (fails past a second). */
async function seenWithin(admin: Admin, gateway: string, requests: number): Promise<number> {
  return within(1000, async () => (await usageTotals(admin, gateway)).requests.total === requests);
}

describe('usage is fresh: one embedded gateway', () => {
  let gw: TestGateway;
  let key = '';
  let quotaId = '';

  beforeAll(async () => {
    gw = await startGateway({ ledgerRollupMs: ROLLUP_MS });
    key = (await seedBasic(gw, { completionTokens: 9 })).key;
    quotaId = (await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 1_000_000, quotaPeriod: 'daily' })).body.id;
  });
  afterAll(() => gw?.close());

  it('the usage API, the limit status and `tollgate usage` count each answered request within a second', SLOW, async () => {
    const used = await send(gw.url, key, 3, 'sim-chat');
    expect(await seenWithin(gw.admin, 'gw1', 3)).toBeLessThan(1000);
    const totals = await usageTotals(gw.admin, 'gw1');
    expect(totals).toMatchObject({ requests: { total: 3, ok: 3 }, tokens: used });
    const byProject = await gw.admin('GET', '/gateways/gw1/usage?interval=hour&groupBy=project');
    expect(byProject.body.series.map((s: { project: string }) => s.project)).toEqual(['p1']);
    expect(byProject.body.totals.tokens).toEqual(used);
    // The limit standing reads the limiter: live, settled before each answer.
    expect((await gw.admin('GET', `/gateways/gw1/limits/${quotaId}/status`)).body.quota.used).toBe(used.total);

    // More requests while the first are still only in the log: counted once, all of them.
    const more = await send(gw.url, key, 2, 'sim-chat');
    await seenWithin(gw.admin, 'gw1', 5);
    expect((await usageTotals(gw.admin, 'gw1')).tokens).toEqual(add(used, more));
    // The CLI reads the same API.
    const cli = JSON.parse(await runCliOk(gw.url, ['usage', '--gateway', 'gw1', '--json'])) as { totals: Totals };
    expect(cli.totals).toMatchObject({ requests: { total: 5 }, tokens: add(used, more) });

    // Once the rollups are written, the same counts: nothing twice.
    await gw.tollgate.ledger!.flush();
    expect((await usageTotals(gw.admin, 'gw1')).tokens).toEqual(add(used, more));
  });
});

describe('usage is fresh: two nodes on PostgreSQL, each with its own ledger writer', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const nodes: ClusterNode[] = [];
  let key = '';

  beforeAll(async () => {
    db = await createTestDatabase();
    const common = { databaseUrl: db.url, redisUrl: REDIS_URL, redisPrefix: uniquePrefix(), instance: 'pool-a', settings: { ledgerRollupMs: ROLLUP_MS } };
    nodes.push(await startNode(common));
    nodes.push(await startNode(common));
    const n1 = nodes[0]!;
    expect((await n1.admin('POST', '/resources', { name: 'r1' })).status).toBe(201);
    expect((await n1.admin('POST', '/resources/r1/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 9 } })).status).toBe(201);
    expect((await n1.admin('POST', '/gateways', { name: 'gw1', resource: 'r1', instance: { mode: 'existing', name: 'pool-a' } })).status).toBe(201);
    key = (await n1.admin('POST', '/resources/r1/projects', { name: 'p1' })).body.keys.primary;
    await within(2000, async () => {
      const codes = await Promise.all(nodes.map((n) => fetch(`${n.url}/openai/v1/models`, { headers: { 'api-key': key } }).then((r) => r.status)));
      return codes.every((c) => c === 200);
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await db?.drop();
  });

  const count = async (table: string) => (await query<{ n: number }>(db.url, `select count(*)::int as n from ${table}`))[0]!.n;

  it("every node's usage API counts the requests answered by both within a second", async () => {
    const [a, b] = [nodes[0]!, nodes[1]!];
    const used = add(await send(a.url, key, 4, 'sim'), await send(b.url, key, 3, 'sim'));
    for (const node of [a, b]) expect(await seenWithin(node.admin, 'gw1', 7)).toBeLessThan(1000);
    // Read from the log tails of two writers: no rollup is written yet.
    expect(await count('usage_minute')).toBe(0);
    expect(await count('ledger_rollup_marks')).toBe(2);
    for (const node of [a, b]) expect((await usageTotals(node.admin, 'gw1')).tokens).toEqual(used);

    // One writer rolls up (a graceful stop writes everything, then drops its mark), the other
    // not yet: each request still counted once.
    await b.tollgate.ledger!.stop();
    expect(await count('usage_minute')).toBeGreaterThan(0);
    expect(await count('ledger_rollup_marks')).toBe(1);
    expect(await usageTotals(a.admin, 'gw1')).toMatchObject({ requests: { total: 7 }, tokens: used });
    await a.tollgate.ledger!.flush();
    expect(await usageTotals(a.admin, 'gw1')).toMatchObject({ requests: { total: 7 }, tokens: used });
  });
});
