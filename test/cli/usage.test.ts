import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli, runCliOk, SLOW, type Run } from '../support/cli.js';
import { ADMIN_TOKEN, seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

let gw: TestGateway;
let seeded: Seeded;
/** Request ids of the requests sent in beforeAll, oldest first. */
const sent = { ok1: '', ok2: '', unknownModel: '', limited: '' };
const okTokens = { prompt: 0, completion: 0, total: 0 };

const env = (): NodeJS.ProcessEnv => ({ ...process.env, TOLLGATE_URL: gw.url, TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN });
const tollgate = (args: string[]): Promise<Run> => runCli(gw.url, args);
const ok = (args: string[]): Promise<string> => runCliOk(gw.url, args);

const lines = (text: string) => text.trimEnd().split('\n');
/** A table's cells: columns are separated by two or more spaces. */
const table = (text: string) => lines(text).map((line) => line.trim().split(/ {2,}/));

/** Sends a chat request; answers its status, request id and body. */
async function chat(model = 'sim-chat'): Promise<{ status: number; requestId: string; body: any }> {
  const res = await fetch(`${gw.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${seeded.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id') ?? '', body: await res.json() };
}

/** Runs the CLI as a child process, calling `onFirstLine` once the first stdout line is out. */
function spawnTollgate(args: string[], onFirstLine: (child: ReturnType<typeof spawn>) => void | Promise<void>): Promise<Run & { signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let fired = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!fired && stdout.includes('\n')) {
        fired = true;
        Promise.resolve(onFirstLine(child)).catch(reject);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  gw = await startGateway({ ledgerFlushMs: 20, ledgerRollupMs: 20 });
  seeded = await seedBasic(gw, { latencyMs: 0 });
  for (const key of ['ok1', 'ok2'] as const) {
    const res = await chat();
    expect(res.status).toBe(200);
    sent[key] = res.requestId;
    okTokens.prompt += res.body.usage.prompt_tokens;
    okTokens.completion += res.body.usage.completion_tokens;
    okTokens.total += res.body.usage.total_tokens;
  }
  const unknown = await chat('no-such-model');
  expect(unknown.status).toBe(404);
  sent.unknownModel = unknown.requestId;
  // One token per minute: no request can ever fit, each is refused with 429 (outcome never_fits).
  expect((await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 1 })).status).toBe(201);
  const limited = await chat();
  expect(limited.status).toBe(429);
  sent.limited = limited.requestId;
  await gw.tollgate.ledger!.flush();
}, 30_000);

afterAll(async () => {
  await gw?.close();
});

describe('tollgate usage', () => {
  it('prints the API answer with --json; the totals count every request', SLOW, async () => {
    const body = JSON.parse(await ok(['usage', '--gateway', 'gw1', '--json']));
    expect(body).toMatchObject({ gateway: 'gw1', groupBy: null });
    expect(body.totals.requests).toEqual({
      total: 4,
      ok: 2,
      rate_limited: 0,
      quota_exceeded: 0,
      rejected: 1,
      upstream_error: 0,
      client_aborted: 0,
      never_fits: 1,
    });
    expect(body.totals.tokens).toEqual(okTokens);
    expect(okTokens.total).toBeGreaterThan(0);
  });

  it('prints one row per interval and a totals row', SLOW, async () => {
    const rows = table(await ok(['usage', '--gateway', 'gw1', '--from', '1h', '--interval', 'minute']));
    expect(rows[0]).toEqual(['TIME', 'REQUESTS', 'OK', '429', '403', 'NEVER FITS', 'ERRORS', 'PROMPT', 'COMPLETION', 'TOTAL TOKENS']);
    const t = okTokens;
    expect(rows.at(-1)).toEqual(['TOTAL', '4', '2', '0', '0', '1', '1', String(t.prompt), String(t.completion), String(t.total)]);
    const points = rows.slice(1, -1);
    // The requests fall in one minute, or two when a minute started in between.
    expect(points.length).toBeGreaterThanOrEqual(1);
    expect(points.length).toBeLessThanOrEqual(2);
    for (const point of points) expect(point[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
    expect(points.reduce((n, point) => n + Number(point[1]), 0)).toBe(4);
  });

  it('adds a column for the group with --group-by', SLOW, async () => {
    const rows = table(await ok(['usage', '--gateway', 'gw1', '--group-by', 'project']));
    expect(rows[0]).toEqual(['TIME', 'PROJECT', 'REQUESTS', 'OK', '429', '403', 'NEVER FITS', 'ERRORS', 'PROMPT', 'COMPLETION', 'TOTAL TOKENS']);
    for (const row of rows.slice(1, -1)) expect(row[1]).toBe('p1');
    expect(rows.at(-1)!.slice(0, 3)).toEqual(['TOTAL', '(all)', '4']);
  });

  it('says so when the range has no usage', SLOW, async () => {
    const out = await ok(['usage', '--gateway', 'gw1', '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-02']);
    expect(lines(out)).toEqual([expect.stringMatching(/^no usage for gateway "gw1" in that range .* — send requests through it and try again$/)]);
  });

  it('without --gateway prints one row per gateway (who uses what), agreeing with the API', SLOW, async () => {
    const api = (await gw.admin('GET', '/usage')).body as { gateways: Array<{ name: string; requests: { total: number }; refusals: number; tokens: { total: number } }> };
    const text = await ok(['usage']);
    const [range, header, row] = lines(text);
    expect(range).toMatch(/ to /);
    expect(header!.trim().split(/ {2,}/)).toEqual(['GATEWAY', 'PROJECTS ON', 'REQUESTS', 'REFUSALS', 'ERRORS', 'TOTAL TOKENS']);
    const g = api.gateways.find((x) => x.name === 'gw1')!;
    expect(row!.trim().split(/ {2,}/)).toEqual(['gw1', '1/1', String(g.requests.total), String(g.refusals), expect.any(String), String(g.tokens.total)]);
    expect(g.requests.total).toBeGreaterThanOrEqual(4);
    expect(g.refusals).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(await ok(['usage', '--json']))).toEqual(expect.objectContaining({ gateways: expect.any(Array) }));
    const run = await tollgate(['usage', '--group-by', 'project']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringContaining('--group-by needs --gateway')]);
  });

  it('rejects a bad --from before calling the API, on one line', SLOW, async () => {
    const run = await tollgate(['usage', '--gateway', 'gw1', '--from', 'xyz']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([expect.stringContaining("option '--from <time>' argument 'xyz' is invalid")]);
  });
});

describe('tollgate logs', () => {
  let cursor = '';

  it('prints one page, newest first, and how to get the next', SLOW, async () => {
    const run = await tollgate(['logs', '--gateway', 'gw1', '--limit', '2']);
    expect(run.code).toBe(0);
    const rows = table(run.stdout);
    expect(rows[0]).toEqual(['TIME', 'STATUS', 'OUTCOME', 'PROJECT', 'DEPLOYMENT', 'OP', 'STREAM', 'TOKENS', 'LATENCY', 'REQUEST ID']);
    expect(rows.slice(1)).toEqual([
      [expect.any(String), '429', 'never_fits (token_rate_limit_exceeded)', 'p1', 'sim-chat', 'chat.completions', 'no', '-', expect.stringMatching(/^\d+ms$/), sent.limited],
      [expect.any(String), '404', 'rejected (deployment_not_found)', 'p1', '-', 'chat.completions', 'no', '-', expect.stringMatching(/^\d+ms$/), sent.unknownModel],
    ]);
    const hint = /^more entries: tollgate logs --gateway gw1 --limit 2 --cursor (req_\S+)\n$/.exec(run.stderr);
    expect(hint).not.toBeNull();
    cursor = hint![1]!;
  });

  it('continues from --cursor', SLOW, async () => {
    const run = await tollgate(['logs', '--gateway', 'gw1', '--limit', '2', '--cursor', cursor]);
    expect(run.code).toBe(0);
    const rows = table(run.stdout);
    expect(rows.slice(1).map((row) => [row[1], row[2], row[9]])).toEqual([
      ['200', 'ok', sent.ok2],
      ['200', 'ok', sent.ok1],
    ]);
    expect(rows[1]![7]).toMatch(/^\d+\+\d+=\d+$/);
    // The last page: no hint.
    expect(run.stderr).toBe('');
  });

  it('filters by outcome, with the JSON of the API', SLOW, async () => {
    const body = JSON.parse(await ok(['logs', '--gateway', 'gw1', '--outcome', 'never_fits', '--json']));
    expect(body.nextCursor).toBeNull();
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      requestId: sent.limited,
      project: 'p1',
      deployment: 'sim-chat',
      status: 429,
      outcome: 'never_fits',
      errorCode: 'token_rate_limit_exceeded',
      refusal: { kind: 'tpm', limit: 1, scope: 'project-wide', neverFits: true },
    });
  });

  it('follows: the latest page oldest first, then each new request once, in order (NDJSON)', SLOW, async () => {
    const fresh: string[] = [];
    const run = await spawnTollgate(['logs', '--gateway', 'gw1', '--limit', '2', '--json', '--follow', '--interval-ms', '100', '--max-polls', '20'], async () => {
      // Sent one after the other, during the polling; the ledger is written every 20 ms, flushed to be sure.
      for (let i = 0; i < 2; i++) fresh.push((await chat()).requestId);
      await gw.tollgate.ledger!.flush();
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const entries = lines(run.stdout).map((line) => JSON.parse(line));
    expect(entries.map((e) => e.requestId)).toEqual([sent.unknownModel, sent.limited, ...fresh]);
    expect(new Set(entries.map((e) => e.id)).size).toBe(4);
  });

  it('stops following on SIGINT with exit code 0', SLOW, async () => {
    const run = await spawnTollgate(['logs', '--gateway', 'gw1', '--limit', '1', '--follow', '--interval-ms', '100'], (child) => {
      child.kill('SIGINT');
    });
    expect(run).toMatchObject({ code: 0, signal: null, stderr: '' });
    const rows = table(run.stdout);
    expect(rows[0]![0]).toBe('TIME');
    expect(rows).toHaveLength(2);
  });
});

describe('tollgate gateways update', () => {
  it('turns content logging on', SLOW, async () => {
    const updated = JSON.parse(await ok(['gateways', 'update', 'gw1', '--log-content', 'on', '--json']));
    expect(updated).toMatchObject({ name: 'gw1', logContent: true });
    expect((await gw.admin('GET', '/gateways/gw1')).body.logContent).toBe(true);
  });
});
