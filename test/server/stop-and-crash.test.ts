import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runLoad, spawnGateway, type GatewayProcess, type LoadResult } from '../support/gateway-process.js';

/**
 * What survives a stop and a crash, with real processes: `tollgate start` on a data directory is
 * loaded by concurrent clients, then stopped with SIGTERM or killed with SIGKILL, then started
 * again on the same directory. The tokens the clients were charged (x-tokens-consumed of every
 * answer they got) are compared with the ledger (read from the SQLite file) and with the quota the
 * restarted gateway reports.
 */
const CONCURRENCY = 16;
const BODY = { model: 'sim', messages: [{ role: 'user', content: 'Count me once, whatever happens.' }], max_tokens: 8 };
/** The ledger's flush interval (the default): a crash may lose what it had not written yet. */
const FLUSH_MS = 50;

const running: GatewayProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((gw) => gw.kill()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir: string): Promise<GatewayProcess> {
  const gw = await spawnGateway(['start', '--data-dir', dataDir], { TOLLGATE_LEDGER_FLUSH_MS: String(FLUSH_MS) });
  running.push(gw);
  return gw;
}

/** A simulated deployment, a gateway, a project with a monthly quota that never trips; its key and the limit's id. */
async function seed(gw: GatewayProcess): Promise<{ key: string; limitId: string }> {
  const ok = async (method: string, p: string, body?: unknown) => {
    const res = await gw.admin(method, p, body);
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  await ok('POST', '/resources', { name: 'r' });
  await ok('POST', '/resources/r/deployments', { name: 'sim', provider: 'simulated', options: { latencyMs: 5, completionTokens: 8 } });
  await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'new' } });
  const project = await ok('POST', '/resources/r/projects', { name: 'p' });
  const limit = await ok('POST', '/gateways/gw/limits', { project: 'p', tokensPerMinute: 1_000_000_000, tokenQuota: 1_000_000_000, quotaPeriod: 'monthly' });
  return { key: project.keys.primary, limitId: limit.id };
}

async function quotaUsed(gw: GatewayProcess, limitId: string): Promise<number> {
  const res = await gw.admin('GET', `/gateways/gw/limits/${limitId}/status`);
  expect(res.status).toBe(200);
  return res.body.quota.used;
}

/** The ledger as the SQLite file holds it: rows and their tokens. */
function ledgerOf(dataDir: string): { rows: number; tokens: number } {
  const db = new Database(path.join(dataDir, 'tollgate.db'), { readonly: true });
  try {
    const row = db.prepare("select count(*) as rows, coalesce(sum(total_tokens), 0) as tokens from request_log where gateway = (select id from gateways where name = 'gw')").get() as {
      rows: number;
      tokens: number;
    };
    return row;
  } finally {
    db.close();
  }
}

const served = (load: LoadResult) => load.answers.filter((a) => a.status === 200).reduce((sum, a) => sum + a.tokens, 0);

describe('a graceful stop under load', () => {
  it('loses nothing: every answer is in the ledger and in the quota after a restart, and the process exits 0', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-sigterm-'));
    dirs.push(dataDir);
    const first = await start(dataDir);
    const { key, limitId } = await seed(first);

    let gone = false;
    void first.exited.then(() => (gone = true));
    const loading = runLoad(first.url, key, BODY, { concurrency: CONCURRENCY, maxMs: 20_000, stop: () => gone });
    await sleep(1500);
    first.child.kill('SIGTERM');
    const [load, exit] = await Promise.all([loading, first.exited]);

    expect(exit, first.output()).toEqual({ code: 0, signal: null });
    const ok = load.answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThan(100);
    // Requests that came on open connections once the stop began were turned away (503
    // shutting_down, retryable): never forwarded, never charged.
    expect(load.answers.filter((a) => a.status !== 200).every((a) => a.status === 503 && a.tokens === 0)).toBe(true);
    const tokens = served(load);
    expect(ledgerOf(dataDir)).toEqual({ rows: ok.length, tokens });

    const second = await start(dataDir);
    expect(await quotaUsed(second, limitId)).toBe(tokens);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});

describe('a crash under load', () => {
  it('loses at most what the ledger had not written: the counters are rebuilt from the checkpoint and the ledger', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-sigkill-'));
    dirs.push(dataDir);
    const first = await start(dataDir);
    const { key, limitId } = await seed(first);

    let killed = false;
    const loading = runLoad(first.url, key, BODY, { concurrency: CONCURRENCY, maxMs: 20_000, stop: () => killed });
    // Past the first limiter checkpoint (every 5 s), so the rebuild starts from one.
    await sleep(6500);
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    killed = true;
    const load = await loading;

    const tokens = served(load);
    const perRequest = Math.max(...load.answers.map((a) => a.tokens));
    // Answers the clients had by the kill whose rows the ledger may not have flushed yet: those of
    // the last flush interval, with a margin for the write itself and for the clients' own lag.
    const recent = load.answers.filter((a) => a.atMs > killedAt - 4 * FLUSH_MS - 100).reduce((sum, a) => sum + a.tokens, 0);
    const ledger = ledgerOf(dataDir);
    expect(ledger.tokens).toBeGreaterThanOrEqual(tokens - recent);

    const second = await start(dataDir);
    const used = await quotaUsed(second, limitId);
    // Nothing counted twice: at most the requests in flight at the kill, answered but never received.
    expect(used).toBeLessThanOrEqual(tokens + CONCURRENCY * perRequest);
    expect(used).toBeGreaterThanOrEqual(tokens - recent);
    // The counters hold exactly what the ledger holds.
    expect(used).toBe(ledger.tokens);
    process.stdout.write(
      `crash: ${load.answers.length} answers (${tokens} tokens) in ${Math.round((killedAt - load.answers[0]!.atMs) / 100) / 10} s; ` +
        `ledger ${ledger.rows} rows (${ledger.tokens} tokens); quota after restart ${used} (lost ${tokens - used} tokens, bound ${recent})\n`,
    );
  });
});
