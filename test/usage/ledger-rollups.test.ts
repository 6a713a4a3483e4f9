import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SequentialIds } from '../../src/domain/ids.js';
import { openPostgresStore } from '../../src/store/open-postgres-store.js';
import { openSqliteStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { LEDGER_ID_PREFIX, type LedgerEntry, type Outcome, type UsageStore } from '../../src/usage/ledger.js';
import { LedgerWriter, type LedgerWriterOptions } from '../../src/usage/ledger-writer.js';
import { RollupAccumulator } from '../../src/usage/rollups.js';
import { createTestDatabase, query, resetDatabase } from '../support/postgres.js';

const silent = pino({ level: 'silent' });
const DAY = Date.UTC(2026, 10, 20);

/** Entries of one writer: `count` requests spread over `projects` projects and a few minutes. */
function entries(ids: SequentialIds, count: number, projects: number, startMs = Date.now()): LedgerEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const atMs = startMs + i * 10;
    const outcome: Outcome = i % 7 === 0 ? 'rate_limited' : 'ok';
    return {
      id: ids.next(atMs),
      atMs,
      requestId: `r-${i}`,
      gateway: 'gw',
      project: `p-${i % projects}`,
      deployment: 'model',
      operation: 'chat.completions',
      stream: false,
      status: outcome === 'ok' ? 200 : 429,
      outcome,
      errorCode: null,
      upstreamStatus: outcome === 'ok' ? 200 : null,
      promptTokens: 10,
      completionTokens: outcome === 'ok' ? 5 : 0,
      totalTokens: outcome === 'ok' ? 15 : 10,
      latencyMs: 1,
      upstreamMs: null,
      overheadMs: null,
      content: null,
    };
  });
}

/** Requests and tokens in the rollups of every interval: each must hold every entry exactly once. */
async function totals(store: Store) {
  type Sums = { requests: number; rateLimited: number; tokens: number };
  const out = {} as Record<'minute' | 'hour' | 'day', Sums>;
  for (const interval of ['minute', 'hour', 'day'] as const) {
    const points = await store.usage.usage({ gateway: 'gw', fromMs: 0, toMs: Date.now() + 86_400_000 * 2, interval });
    out[interval] = {
      requests: points.reduce((n, p) => n + p.requests.total, 0),
      rateLimited: points.reduce((n, p) => n + p.requests.rate_limited, 0),
      tokens: points.reduce((n, p) => n + p.tokens.total, 0),
    };
  }
  return out;
}

const expected = (list: LedgerEntry[]) => {
  const one = {
    requests: list.length,
    rateLimited: list.filter((e) => e.outcome === 'rate_limited').length,
    tokens: list.reduce((n, e) => n + e.totalTokens, 0),
  };
  return { minute: one, hour: one, day: one };
};

function writer(usage: UsageStore, ids: SequentialIds, options: Partial<LedgerWriterOptions> = {}): LedgerWriter {
  return new LedgerWriter(usage, silent, {
    flushIntervalMs: 10,
    batchSize: 100,
    maxQueue: 100_000,
    writer: ids.node,
    rollupIntervalMs: 60_000,
    staleMarkMs: 120_000,
    recoverEveryMs: 60_000,
    ...options,
  });
}

describe('RollupAccumulator', () => {
  it('sums entries across adds into one row per key and bucket, and hands them over once', () => {
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const acc = new RollupAccumulator();
    const list = entries(ids, 300, 3, DAY);
    acc.add(list.slice(0, 100));
    acc.add(list.slice(100));
    expect(acc.throughId).toBe(list[299]!.id);
    const taken = acc.take();
    // 300 entries 10 ms apart: 3 s, one minute, one hour, one day; 3 projects.
    expect(taken.minute).toHaveLength(3);
    expect(taken.hour).toHaveLength(3);
    expect(taken.day).toHaveLength(3);
    expect(taken.minute.reduce((n, r) => n + r.requests, 0)).toBe(300);
    expect(acc.throughId).toBeNull();
    expect(acc.size).toBe(0);
  });

  it('takes back a failed write, merged with what came since', () => {
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const acc = new RollupAccumulator();
    const list = entries(ids, 20, 2, DAY);
    acc.add(list.slice(0, 10));
    const taken = acc.take();
    acc.add(list.slice(10));
    acc.restore(taken, list[9]!.id);
    expect(acc.throughId).toBe(list[19]!.id);
    const all = acc.take();
    expect(all.minute).toHaveLength(2);
    expect(all.minute.reduce((n, r) => n + r.requests, 0)).toBe(20);
  });
});

type Opener = () => Promise<Store>;
/**
 * Requests in the day rollup table itself, read on a connection of its own: usage() adds the log
 * rows not rolled up yet, so only the table shows when rollups are written. Not for an in-memory
 * database, which no other connection can open.
 */
type RolledReader = (() => Promise<number>) | null;
const dirs: string[] = [];
let pg: { url: string; drop(): Promise<void> } | null = null;
beforeAll(async () => {
  pg = await createTestDatabase();
});
afterAll(async () => {
  await pg?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

let sqliteDir = '';
const openers: [string, Opener, RolledReader][] = [
  [
    'SQLite file (writer thread)',
    async () => {
      sqliteDir = mkdtempSync(path.join(tmpdir(), 'tollgate-rollups-'));
      dirs.push(sqliteDir);
      const store = openSqliteStore(sqliteDir);
      await store.migrate();
      return store;
    },
    async () => {
      const reader = new BetterSqlite3(path.join(sqliteDir, 'tollgate.db'), { readonly: true });
      try {
        return (reader.prepare("select coalesce(sum(requests), 0) as n from usage_day where gateway = 'gw'").get() as { n: number }).n;
      } finally {
        reader.close();
      }
    },
  ],
  [
    'SQLite in memory',
    async () => {
      const store = openSqliteStore(':memory:');
      await store.migrate();
      return store;
    },
    null,
  ],
  [
    'PostgreSQL',
    async () => {
      const store = openPostgresStore(pg!.url, { poolSize: 4 });
      await store.migrate();
      await resetDatabase(pg!.url);
      return store;
    },
    async () => (await query<{ n: number }>(pg!.url, "select coalesce(sum(requests), 0)::int as n from usage_day where gateway = 'gw'"))[0]!.n,
  ],
];

describe.each(openers)('ledger rollups on %s', (_name, open, rolledReader) => {
  let store: Store;
  const writers: LedgerWriter[] = [];
  /** A started writer, stopped after the test (if it has not been). */
  const started = (ids: SequentialIds, options: Partial<LedgerWriterOptions> = {}) => {
    const w = writer(store.usage, ids, options);
    writers.push(w);
    w.start();
    return w;
  };
  /** Waits (boundedly) until the log holds `count` entries. */
  const logHolds = async (count: number) => {
    for (let i = 0; i < 200 && (await store.usage.logs({ gateway: 'gw', limit: 1_000 })).length < count; i++) await sleep(10);
    return (await store.usage.logs({ gateway: 'gw', limit: 1_000 })).length;
  };
  /** Expects the day rollup table to hold `count` requests, where another connection can read it. */
  const expectRolled = async (count: number) => {
    if (rolledReader) expect(await rolledReader()).toBe(count);
  };
  afterEach(async () => {
    // Abandoned writers ("crashed") still have timers: stop them before the store closes.
    for (const w of writers.splice(0)) await w.stop().catch(() => {});
    await store.close();
  });

  it('writes the log at once and the summed rollups later, usage counting every entry once throughout', async () => {
    store = await open();
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const w = started(ids);
    const list = entries(ids, 1_000, 250);
    for (const e of list) w.record(e);
    expect(await logHolds(1_000)).toBe(1_000);
    // The log is written; its rollups wait for the next rollup flush, and usage has it all already.
    await expectRolled(0);
    expect(await totals(store)).toEqual(expected(list));
    await w.flush();
    await expectRolled(1_000);
    expect(await totals(store)).toEqual(expected(list));
    await w.stop();
    // Nothing left for anyone to recover.
    const other = writer(store.usage, new SequentialIds(LEDGER_ID_PREFIX));
    expect(await other.recover(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(await totals(store)).toEqual(expected(list));
  });

  it("rebuilds a dead writer's rollups from the log exactly once, and the writer, back from a stall, does not add them again", async () => {
    store = await open();
    const idsA = new SequentialIds(LEDGER_ID_PREFIX);
    const a = started(idsA);
    const first = entries(idsA, 300, 40);
    for (const e of first) a.record(e);
    await a.flush(); // these are in the rollups
    const second = entries(idsA, 500, 120, Date.now() + 5_000);
    for (const e of second) a.record(e);
    expect(await logHolds(800)).toBe(800);
    // A "dies" here: 500 entries in the log, not in the rollups (usage counts them from the log).
    await expectRolled(300);
    expect(await totals(store)).toEqual(expected([...first, ...second]));

    // Another writer finds A's mark stale only once it is.
    const b = writer(store.usage, new SequentialIds(LEDGER_ID_PREFIX));
    writers.push(b);
    expect(await b.recover(Date.now() - 60_000)).toBe(0);
    expect(await b.recover(Date.now() + 1)).toBe(500);
    const all = [...first, ...second];
    await expectRolled(800);
    expect(await totals(store)).toEqual(expected(all));
    expect(await b.recover(Date.now() + 1)).toBe(0);

    // A was only stalled: its own copy of those rollups must not count them twice.
    await a.flush();
    await expectRolled(800);
    expect(await totals(store)).toEqual(expected(all));
    // A goes on writing: a new mark covers its new rows.
    const third = entries(idsA, 100, 10, Date.now() + 10_000);
    for (const e of third) a.record(e);
    await a.flush();
    await expectRolled(900);
    expect(await totals(store)).toEqual(expected([...all, ...third]));
  });

  it('counts, once, the rows a writer writes while another node takes its mark, and their rollups', async () => {
    store = await open();
    const idsA = new SequentialIds(LEDGER_ID_PREFIX);
    const a = started(idsA);
    const first = entries(idsA, 200, 20);
    for (const e of first) a.record(e);
    expect(await logHolds(200)).toBe(200);
    // A stalls before its rollup flush; B finds its mark stale and rebuilds the 200 from the log.
    const b = writer(store.usage, new SequentialIds(LEDGER_ID_PREFIX));
    writers.push(b);
    expect(await b.recover(Date.now() + 1)).toBe(200);
    // A, back, writes more log rows before its rollup flush finds the mark gone: those rows were
    // not rebuilt, so they must neither vanish (no mark) nor, once summed, drag the 200 in twice.
    const second = entries(idsA, 100, 10, Date.now() + 5_000);
    for (const e of second) a.record(e);
    expect(await logHolds(300)).toBe(300);
    expect(await totals(store)).toEqual(expected([...first, ...second]));
    await a.flush();
    await expectRolled(300);
    expect(await totals(store)).toEqual(expected([...first, ...second]));
    await a.stop();
    expect(await b.recover(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(await totals(store)).toEqual(expected([...first, ...second]));
  });

  it('drops its mark once idle (nothing left to roll up), and makes a new one with its next rows', async () => {
    store = await open();
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const released: string[] = [];
    const usage = store.usage;
    const watched: UsageStore = Object.create(usage, {
      releaseMark: { value: (writer: string) => (released.push(writer), usage.releaseMark(writer)) },
    });
    const w = writer(watched, ids);
    writers.push(w);
    const list = entries(ids, 60, 6);
    for (const e of list.slice(0, 30)) w.record(e);
    await w.flush(); // rows, then their rollups: the mark stays while they were new
    expect(released).toEqual([]);
    await w.flush(); // nothing new since: every row is in the rollups, the mark would only age
    expect(released).toEqual([ids.node]);
    await w.flush();
    expect(released).toEqual([ids.node]);
    for (const e of list.slice(30)) w.record(e);
    await w.flush();
    expect(await totals(store)).toEqual(expected(list));
    // The new mark covers only the new rows: a recovery, were the writer dead, would add nothing.
    expect(await writer(store.usage, new SequentialIds(LEDGER_ID_PREFIX)).recover(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(await totals(store)).toEqual(expected(list));
  });

  it('keeps the rollups of a failed write for the next one', async () => {
    store = await open();
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    let failures = 1;
    const flaky: typeof store.usage = Object.create(store.usage, {
      addRollups: {
        value: (...args: Parameters<typeof store.usage.addRollups>) =>
          failures-- > 0 ? Promise.reject(new Error('store down')) : store.usage.addRollups(...args),
      },
    });
    const w = writer(flaky, ids);
    writers.push(w);
    const list = entries(ids, 150, 30);
    for (const e of list.slice(0, 100)) w.record(e);
    await w.flush(); // the log is written, the rollups fail
    await expectRolled(0);
    expect(await totals(store)).toEqual(expected(list.slice(0, 100)));
    for (const e of list.slice(100)) w.record(e);
    await w.flush();
    await expectRolled(150);
    expect(await totals(store)).toEqual(expected(list));
  });

  it('a sole writer rebuilds what a previous run left at start, however recent', async () => {
    store = await open();
    const idsA = new SequentialIds(LEDGER_ID_PREFIX);
    const a = started(idsA);
    const list = entries(idsA, 200, 50);
    for (const e of list) a.record(e);
    expect(await logHolds(200)).toBe(200);

    // The recovery the sole writer runs at start, awaited where it is made.
    let recovery: Promise<number> | null = null;
    const usage = store.usage;
    const watched: UsageStore = Object.create(usage, {
      recoverRollups: { value: (...args: Parameters<UsageStore['recoverRollups']>) => (recovery ??= usage.recoverRollups(...args)) },
    });
    const sole = writer(watched, new SequentialIds(LEDGER_ID_PREFIX), { soleWriter: true });
    writers.push(sole);
    sole.start();
    expect(await recovery).toBe(200);
    await expectRolled(200);
    expect(await totals(store)).toEqual(expected(list));
  });
});
