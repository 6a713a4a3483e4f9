import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

const FLUSH_MS = 50;

/**
 * A spent budget stays spent across a crash of the embedded gateway: its counter is rebuilt from
 * the last checkpoint plus each ledger row's cost written after it.
 */
describe('a money budget survives SIGKILL', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-budget-kill-'));
  const running: GatewayProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((gw) => gw.kill()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<GatewayProcess> {
    const gw = await spawnGateway(['start', '--data-dir', dataDir], { TOLLGATE_LEDGER_FLUSH_MS: String(FLUSH_MS), TOLLGATE_LIMITER_CHECKPOINT_MS: '1000' });
    running.push(gw);
    return gw;
  }

  const ledgerCost = (): number => {
    const db = new Database(path.join(dataDir, 'tollgate.db'), { readonly: true });
    try {
      return (db.prepare("select coalesce(sum(cost_micros), 0) as c from request_log where gateway = (select id from gateways where name = 'gw') and currency = 'USD'").get() as { c: number }).c;
    } finally {
      db.close();
    }
  };

  it('rebuilds the spend from the checkpoint and the ledger', async () => {
    const first = await start();
    const ok = async (method: string, p: string, body?: unknown) => {
      const res = await first.admin(method, p, body);
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await ok('POST', '/resources', { name: 'r' });
    await ok('POST', '/resources/r/deployments', { name: 'sim', provider: 'simulated', options: { completionTokens: 20 }, pricing: { currency: 'USD', inputPerMillion: '5', outputPerMillion: '20' } });
    await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'new' } });
    const key = (await ok('POST', '/resources/r/projects', { name: 'p' })).keys.primary;
    const limit = await ok('POST', '/gateways/gw/limits', { project: 'p', budget: { amount: '1', currency: 'USD', period: 'monthly' } });
    for (let i = 0; i < 12; i++) {
      // Half before a checkpoint, half after it (then only in the ledger, replayed at start).
      if (i === 6) await sleep(1500);
      const res = await fetch(`${first.url}/openai/v1/chat/completions`, {
        method: 'POST',
        headers: { 'api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: `spend ${i}` }], max_tokens: 20 }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    // The ledger writes every 50 ms: wait for the rows, then crash (no final checkpoint).
    await sleep(6 * FLUSH_MS);
    const spent = ledgerCost();
    expect(spent).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await start();
    const status = await second.admin('GET', `/gateways/gw/limits/${limit.id}/status`);
    expect(status.status).toBe(200);
    expect(status.body.budget.spent.micros).toBe(spent);
    expect(status.body.budget.remaining.micros).toBe(1_000_000 - spent);
  }, 60_000);
});
