import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SequentialIds } from '../../src/domain/ids.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/open-postgres-store.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openSqliteStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { LEDGER_ID_PREFIX, type LedgerEntry, type Outcome, type UsagePoint } from '../../src/usage/ledger.js';
import { createTestDatabase, query, resetDatabase } from '../support/postgres.js';
import { resource, storeContract } from '../contracts/store-contract.js';
import { agentStoreContract } from '../contracts/agent-store-contract.js';
import { mcpStoreContract } from '../contracts/mcp-store-contract.js';

// This file's own database: the contract, usage and notification tests share it, each starting
// from emptied tables. Tests that need a fresh database create their own.
let db: { url: string; name: string; drop(): Promise<void> };
const opened: Store[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** A migrated store on this file's database, emptied; closed after the test. */
async function openEmpty(): Promise<PostgresStore> {
  const store = openPostgresStore(db.url, { poolSize: 4, listener: { minBackoffMs: 20, maxBackoffMs: 200 } });
  await store.migrate();
  await resetDatabase(db.url);
  return store;
}
async function openTracked(): Promise<PostgresStore> {
  const store = await openEmpty();
  opened.push(store);
  return store;
}

storeContract('postgres', openEmpty);
agentStoreContract('postgres', openEmpty);
mcpStoreContract('postgres', openEmpty);

describe('postgres migrations', () => {
  it('four nodes migrating a fresh database at once all succeed, and it is migrated once', async () => {
    const fresh = await createTestDatabase();
    const stores = Array.from({ length: 4 }, () => openPostgresStore(fresh.url, { poolSize: 2 }));
    try {
      const results = await Promise.allSettled(stores.map((s) => s.migrate()));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);

      const applied = await query<{ name: string }>(fresh.url, 'select name from kysely_migration order by name');
      const names = Object.keys(await migrationProvider.getMigrations()).sort();
      expect(names.length).toBeGreaterThanOrEqual(3);
      expect(applied.map((r) => r.name)).toEqual(names);
      expect(await query(fresh.url, 'select id, version from config_version')).toEqual([{ id: 1, version: '1' }]);
      for (const s of stores) expect(await s.configVersion()).toBe(1);
      // and again, concurrently, on one store: nothing left to do
      await Promise.all([stores[0]!.migrate(), stores[0]!.migrate()]);
      expect(await query(fresh.url, 'select count(*)::int as n from kysely_migration')).toEqual([{ n: names.length }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    }
  });

  it('latency columns are double precision (PostgreSQL `real` is float4)', async () => {
    await openTracked();
    const rows = await query<{ table_name: string; column_name: string; data_type: string }>(
      db.url,
      `select table_name, column_name, data_type from information_schema.columns
        where table_schema = current_schema() and column_name in ('latency_ms', 'upstream_ms', 'overhead_ms')
        order by table_name, column_name`,
    );
    // request_log (3), usage_* (3), agent_requests (1), the MCP call ledger (2, migration 0010).
    expect(rows.length).toBe(9);
    for (const r of rows) expect(r.data_type).toBe('double precision');
  });

  it('answers bigint columns as numbers', async () => {
    const store = await openTracked();
    const version = await store.bumpConfigVersion();
    expect(version).toBe(2);
    expect(await store.configVersion()).toBe(2);
    expect((await store.loadConfig()).version).toBe(2);
  });
});

// --- Usage store: the same expectations on SQLite and PostgreSQL ---------------------------------

const T0 = Date.UTC(2025, 2, 3); // on a day, hour and minute boundary
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const ids = new SequentialIds(LEDGER_ID_PREFIX);
function entry(atMs: number, over: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id: ids.next(atMs),
      atMs,
      requestId: `r-${atMs}`,
      gateway: 'gw1',
      project: 'p1',
      deployment: 'd1',
      operation: 'chat.completions',
      stream: false,
      status: 200,
      outcome: 'ok',
      errorCode: null,
      upstreamStatus: 200,
      promptTokens: 10,
      completionTokens: 5,
      totalTokens: 15,
      latencyMs: 12.5,
      upstreamMs: 10.25,
      overheadMs: 2.25,
    content: null,
    ...over,
  };
}

function usageContract(name: string, open: () => Promise<Store>): void {
  describe(`usage store: ${name}`, () => {
    let store: Store;

    // Two batches (the second adds to rollup rows the first created: the upsert path).
    const first = [
      entry(T0 + 1_000),
      entry(T0 + 2_000, { outcome: 'rate_limited', status: 429, upstreamStatus: null, promptTokens: 0, completionTokens: 0, totalTokens: 0, latencyMs: 0.5, upstreamMs: null, overheadMs: null }),
      entry(T0 + MIN + 5_000, { project: 'p2', stream: true, content: '{"prompt":"hi"}', costMicros: 3, currency: 'EUR' }),
    ];
    const second = [
      entry(T0 + 30_000, { promptTokens: 1_000_000, completionTokens: 2_000_000, totalTokens: 3_000_000, latencyMs: 16_777_216 }),
      entry(T0 + 40_000, { latencyMs: 1.5, costMicros: 7_000_000_000_001, currency: 'USD' }),
      entry(T0 + HOUR + 1, { deployment: null, outcome: 'rejected', status: 400, errorCode: 'bad_request', upstreamStatus: null }),
      entry(T0 + DAY + 7, { outcome: 'upstream_error', status: 502, upstreamStatus: 500 }),
      entry(T0 + DAY + 8, { gateway: 'gw2' }),
    ];
    const all = [...first, ...second];
    const gw1 = all.filter((e) => e.gateway === 'gw1');
    const newestFirst = (es: LedgerEntry[]) => [...es].sort((a, b) => (a.id < b.id ? 1 : -1));

    /** What usage() should answer for these entries, computed in JS. */
    function expected(entries: LedgerEntry[], step: number, group?: 'project' | 'deployment'): UsagePoint[] {
      const points = new Map<string, UsagePoint>();
      for (const e of entries) {
        const bucketMs = Math.floor(e.atMs / step) * step;
        const grp = group === undefined ? null : (e[group] ?? '');
        const key = `${bucketMs}/${grp}`;
        let p = points.get(key);
        if (!p) {
          const zero = { ok: 0, rate_limited: 0, quota_exceeded: 0, rejected: 0, upstream_error: 0, client_aborted: 0, never_fits: 0 } satisfies Record<Outcome, number>;
          p = { bucketMs, group: grp, requests: { ...zero, total: 0 }, tokens: { prompt: 0, completion: 0, total: 0 }, latencyMsSum: 0, cost: {} };
          points.set(key, p);
        }
        p.requests[e.outcome] += 1;
        p.requests.total += 1;
        p.tokens.prompt += e.promptTokens;
        p.tokens.completion += e.completionTokens;
        p.tokens.total += e.totalTokens;
        p.latencyMsSum += e.latencyMs;
        if (e.currency && e.costMicros) p.cost[e.currency] = (p.cost[e.currency] ?? 0) + e.costMicros;
      }
      return [...points.values()].sort((a, b) => a.bucketMs - b.bucketMs || String(a.group).localeCompare(String(b.group)));
    }
    const sortPoints = (ps: UsagePoint[]) => [...ps].sort((a, b) => a.bucketMs - b.bucketMs || String(a.group).localeCompare(String(b.group)));

    beforeEach(async () => {
      store = await open();
      await store.usage.append(first);
      await store.usage.append(second);
      await store.usage.append([]);
    });
    afterEach(async () => {
      await store.close();
    });

    it('sums the rollups per minute, hour and day, as numbers', async () => {
      const range = { gateway: 'gw1', fromMs: T0, toMs: T0 + 2 * DAY };
      const minute = await store.usage.usage({ ...range, interval: 'minute' });
      expect(minute).toEqual(expected(gw1, MIN));
      // 2^24 + 1.5: float4 would have rounded this sum
      expect(minute[0]!.latencyMsSum).toBe(12.5 + 0.5 + 16_777_216 + 1.5);
      expect(minute[0]!.tokens.total).toBe(15 + 3_000_000 + 15);
      expect(await store.usage.usage({ ...range, interval: 'hour' })).toEqual(expected(gw1, HOUR));
      const day = await store.usage.usage({ ...range, interval: 'day' });
      expect(day).toEqual(expected(gw1, DAY));
      expect(day.map((p) => p.requests.total)).toEqual([6, 1]);
      for (const p of day) {
        for (const v of [...Object.values(p.requests), ...Object.values(p.tokens), p.latencyMsSum, p.bucketMs]) expect(typeof v).toBe('number');
      }
    });

    it('filters and groups usage', async () => {
      const range = { gateway: 'gw1', fromMs: T0 + 1, toMs: T0 + DAY, interval: 'hour' as const };
      // fromMs rounds down to its bucket; toMs is exclusive
      const firstDay = gw1.filter((e) => e.atMs < T0 + DAY);
      expect(await store.usage.usage(range)).toEqual(expected(firstDay, HOUR));
      expect(await store.usage.usage({ ...range, project: 'p2' })).toEqual(expected(firstDay.filter((e) => e.project === 'p2'), HOUR));
      expect(await store.usage.usage({ ...range, deployment: '' })).toEqual(expected(firstDay.filter((e) => e.deployment === null), HOUR));
      expect(sortPoints(await store.usage.usage({ ...range, groupBy: 'project' }))).toEqual(expected(firstDay, HOUR, 'project'));
      expect(sortPoints(await store.usage.usage({ ...range, interval: 'day', groupBy: 'deployment' }))).toEqual(expected(firstDay, DAY, 'deployment'));
      expect(await store.usage.usage({ ...range, gateway: 'nope' })).toEqual([]);
    });

    it('pages logs newest first and filters them, every field round-tripped', async () => {
      expect(await store.usage.logs({ gateway: 'gw1', limit: 100 })).toEqual(newestFirst(gw1));
      const page1 = await store.usage.logs({ gateway: 'gw1', limit: 3 });
      const page2 = await store.usage.logs({ gateway: 'gw1', limit: 3, before: page1[2]!.id });
      const page3 = await store.usage.logs({ gateway: 'gw1', limit: 3, before: page2[2]!.id });
      expect([...page1, ...page2, ...page3]).toEqual(newestFirst(gw1));
      expect(page3).toHaveLength(1);

      expect(await store.usage.logs({ gateway: 'gw1', limit: 100, project: 'p2' })).toEqual(gw1.filter((e) => e.project === 'p2'));
      expect(await store.usage.logs({ gateway: 'gw1', limit: 100, outcome: 'rate_limited' })).toEqual([first[1]]);
      expect(await store.usage.logs({ gateway: 'gw1', limit: 100, deployment: 'd1', fromMs: T0 + MIN, toMs: T0 + DAY })).toEqual(
        newestFirst(gw1.filter((e) => e.deployment === 'd1' && e.atMs >= T0 + MIN && e.atMs < T0 + DAY)),
      );
      expect(await store.usage.logs({ gateway: 'gw2', limit: 100 })).toEqual([all[all.length - 1]]);
    });

    it('prunes raw entries and minute rollups before one cut-off, hour rollups before another, keeps days', async () => {
      const cut = T0 + DAY;
      const rollupCut = T0 + HOUR;
      const deleted = await store.usage.prune(cut, rollupCut);
      expect(deleted).toBe(all.filter((e) => e.atMs < cut).length);
      expect(await store.usage.logs({ gateway: 'gw1', limit: 100 })).toEqual(newestFirst(gw1.filter((e) => e.atMs >= cut)));
      expect(await store.usage.logs({ gateway: 'gw2', limit: 100 })).toHaveLength(1);
      const range = { gateway: 'gw1', fromMs: T0, toMs: T0 + 2 * DAY };
      expect(await store.usage.usage({ ...range, interval: 'minute' })).toEqual(expected(gw1.filter((e) => e.atMs >= cut), MIN));
      expect(await store.usage.usage({ ...range, interval: 'hour' })).toEqual(expected(gw1.filter((e) => e.atMs >= rollupCut), HOUR));
      expect(await store.usage.usage({ ...range, interval: 'day' })).toEqual(expected(gw1, DAY));
      expect(await store.usage.prune(cut, rollupCut)).toBe(0);
    });
  });
}

usageContract('sqlite (in memory)', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  return store;
});
usageContract('postgres', openEmpty);

describe('postgres: two nodes writing the same rows', () => {
  // A multi-row upsert locks rows in the order given: without one order for every writer, these
  // deadlock now and then (PostgreSQL aborts one of them after deadlock_timeout).
  const keys = Array.from({ length: 150 }, (_, i) => `k${String(i).padStart(3, '0')}`);
  const rounds = 8;

  it('ledger appends with rollup keys in opposite orders', async () => {
    const a = await openTracked();
    const b = await openTracked();
    const batch = (projects: string[]) => projects.map((project) => entry(T0 + 1_000, { project }));
    for (let round = 0; round < rounds; round++) {
      await Promise.all([a.usage.append(batch(keys)), b.usage.append(batch([...keys].reverse()))]);
    }
    const day = await a.usage.usage({ gateway: 'gw1', fromMs: T0, toMs: T0 + DAY, interval: 'day' });
    expect(day.map((p) => p.requests.total)).toEqual([rounds * 2 * keys.length]);
  });

  it('limiter checkpoints of the same limits in opposite orders', async () => {
    const a = await openTracked();
    const b = await openTracked();
    const rows = keys.map((k) => ({ limitId: `lim_${k}`, state: '{}' }));
    for (let round = 0; round < rounds; round++) {
      await Promise.all([a.saveLimiterStates(rows), b.saveLimiterStates([...rows].reverse())]);
    }
  });
});

// --- Config change notifications ------------------------------------------------------------------

/** Collects a watcher's calls; next() awaits the next one, failing after a bounded wait. */
function recorder() {
  const queue: number[] = [];
  let waiting: ((v: number) => void) | null = null;
  return {
    seen: [] as number[],
    onChange(version: number) {
      this.seen.push(version);
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve(version);
      } else queue.push(version);
    },
    next(timeoutMs = 1_000): Promise<number> {
      const ready = queue.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = null;
          reject(new Error(`no config notification within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting = (v) => {
          clearTimeout(timer);
          resolve(v);
        };
      });
    },
    pending: () => queue.length,
  };
}

describe('postgres config notifications', () => {
  it('tells another store of a committed bump within a second, not of a rolled-back one', async () => {
    const a = await openTracked();
    const b = await openTracked();
    const heard = recorder();
    const stop = await b.watchConfig((v) => heard.onChange(v));

    const v1 = await a.transaction(async (tx) => {
      await tx.insertResource(resource());
      return tx.bumpConfigVersion();
    });
    expect(v1).toBe(2);
    expect(await heard.next(1_000)).toBe(v1);

    // Rolled back: no notification. Notifications arrive in commit order, so if the rolled-back
    // bump were announced it would be heard before the committed one that follows.
    await expect(
      a.transaction(async (tx) => {
        await tx.bumpConfigVersion();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const v2 = await a.bumpConfigVersion(); // outside a transaction: announced too
    expect(v2).toBe(v1 + 1);
    expect(await heard.next(1_000)).toBe(v2);
    expect(heard.seen).toEqual([v1, v2]);
    expect(heard.pending()).toBe(0);

    await stop();
    await stop(); // idempotent
  });

  it('every watcher hears; one stopping leaves the others', async () => {
    const a = await openTracked();
    const b = await openTracked();
    const first = recorder();
    const second = recorder();
    const stopFirst = await b.watchConfig((v) => first.onChange(v));
    const stopSecond = await b.watchConfig((v) => second.onChange(v));
    const v = await a.bumpConfigVersion();
    expect(await first.next()).toBe(v);
    expect(await second.next()).toBe(v);
    await stopFirst();
    const w = await a.bumpConfigVersion();
    expect(await second.next()).toBe(w);
    expect(first.seen).toEqual([v]);
    await stopSecond();
  });

  it('reconnects when its connection drops, then reports the current version', async () => {
    const a = await openTracked();
    const b = await openTracked();
    const heard = recorder();
    await b.watchConfig((v) => heard.onChange(v));
    const v1 = await a.bumpConfigVersion();
    expect(await heard.next()).toBe(v1);

    const killed = await query<{ ok: boolean }>(
      db.url,
      `select pg_terminate_backend(pid) as ok from pg_stat_activity
        where datname = current_database() and application_name = 'tollgate-config-listener'`,
    );
    expect(killed).toEqual([{ ok: true }]);
    // After reconnecting it reports the version it may have missed.
    expect(await heard.next(5_000)).toBe(v1);
    const v2 = await a.bumpConfigVersion();
    expect(await heard.next()).toBe(v2);
  });

  it('rejects a watch when the database is unreachable, and close() ends everything', async () => {
    const url = new URL(db.url);
    url.pathname = '/tollgate_test_does_not_exist';
    const store = openPostgresStore(url.toString());
    await expect(store.watchConfig(() => {})).rejects.toThrow();
    await store.close();

    const b = await openEmpty();
    await b.watchConfig(() => {});
    await b.close(); // closes the listener with the pool: nothing keeps the process alive
    await expect(b.watchConfig(() => {})).rejects.toThrow('closed');
  });

  it('SQLite has no watchConfig: the version poll covers it', async () => {
    const store = openSqliteStore(':memory:');
    expect(store.watchConfig).toBeUndefined();
    await store.close();
  });
});
