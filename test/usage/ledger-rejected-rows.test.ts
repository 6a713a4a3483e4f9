import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequentialIds } from '../../src/domain/ids.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/open-postgres-store.js';
import { openSqliteStore } from '../../src/store/open-store.js';
import { LEDGER_ID_PREFIX, type LedgerEntry, type UsageStore } from '../../src/usage/ledger.js';
import { LedgerWriter, type DropReason, type LedgerWriterOptions } from '../../src/usage/ledger-writer.js';
import { startGateway, type TestGateway } from '../support/harness.js';
import { createTestDatabase, resetDatabase } from '../support/postgres.js';
import { parsePromText, samplesByLabels } from '../support/prom-text.js';

const GATEWAY = 'gw-ledger';

/** `count` plain entries of one writer, 10 ms apart, each with its own request id. */
function entries(ids: SequentialIds, count: number, tag: string, startMs = Date.now()): LedgerEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    id: ids.next(startMs + i * 10),
    atMs: startMs + i * 10,
    requestId: `${tag}-${i}`,
    gateway: GATEWAY,
    project: 'p1',
    deployment: 'model',
    operation: 'chat.completions',
    stream: false,
    status: 200,
    outcome: 'ok',
    errorCode: null,
    upstreamStatus: 200,
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    latencyMs: 1,
    upstreamMs: null,
    overheadMs: null,
    content: null,
  }));
}

const requestIds = (list: readonly LedgerEntry[]) => list.map((e) => e.requestId).sort();

/** Log lines, parsed, for the assertions on what was logged. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string; reqId?: string; err?: { message?: string } }> = [];
  return { lines, logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

let db: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/**
 * PostgreSQL refuses a ledger row with a fractional or out-of-range token count (bigint columns),
 * and so the whole batch holding it: such a row must be dropped alone, logged and counted, never
 * retried for ever in front of every row behind it. The validation of upstream usage keeps such
 * rows from being made; these are handed to the writer directly.
 */
describe('a ledger entry PostgreSQL refuses', () => {
  let gw: TestGateway;
  const log = capturingLogger();

  beforeAll(async () => {
    gw = await startGateway({ databaseUrl: db.url, ledgerFlushMs: 20, ledgerRollupMs: 20 }, { logger: log.logger });
  });
  afterAll(() => gw?.close());

  it('is dropped alone, logged and counted; the rest of its batch and every later batch are written', async () => {
    const ledger = gw.tollgate.ledger!;
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const first = entries(ids, 2_500, 'first');
    first[737] = { ...first[737]!, promptTokens: 10.5 }; // invalid input syntax for type bigint
    first[1_800] = { ...first[1_800]!, totalTokens: 1e20 }; // out of range for type bigint
    for (const e of first) ledger.record(e);
    await ledger.flush();
    const later = entries(ids, 300, 'later', Date.now() + 60_000);
    for (const e of later) ledger.record(e);
    await ledger.flush();

    const good = [...first.filter((_, i) => i !== 737 && i !== 1_800), ...later];
    const logged = await gw.tollgate.store.usage.logs({ gateway: GATEWAY, limit: 10_000 });
    expect(requestIds(logged)).toEqual(requestIds(good));
    expect(ledger.pending).toBe(0);
    expect(ledger.dropped).toBe(2);

    // The rollups hold exactly the rows written.
    const points = await gw.tollgate.store.usage.usage({ gateway: GATEWAY, fromMs: 0, toMs: Date.now() + 86_400_000, interval: 'day' });
    expect(points.reduce((n, p) => n + p.requests.total, 0)).toBe(good.length);
    expect(points.reduce((n, p) => n + p.tokens.total, 0)).toBe(15 * good.length);

    // Counted by reason, and logged once each with the request id.
    const samples = parsePromText(await gw.tollgate.metrics.registry.metrics());
    expect(samplesByLabels(samples, 'tollgate_ledger_dropped_total', ['reason'])).toEqual({ queue_full: 0, rejected: 2 });
    const refused = log.lines.filter((l) => l.level === 50 && /refused by the store/.test(l.msg));
    expect(refused.map((l) => l.reqId).sort()).toEqual(['first-1800', 'first-737']);
    expect(refused.map((l) => l.err?.message)).toEqual([expect.stringContaining('bigint'), expect.stringContaining('bigint')]);
  });
});

describe('a ledger writer whose PostgreSQL store is down', () => {
  let store: PostgresStore;
  /** A store on a port nobody listens on: its errors are those of a server that is down. */
  let unreachable: PostgresStore;

  beforeAll(async () => {
    store = openPostgresStore(db.url, { poolSize: 2 });
    await store.migrate();
    await resetDatabase(db.url);
    const url = new URL(db.url);
    url.port = '1';
    unreachable = openPostgresStore(url.toString(), { poolSize: 1 });
  });
  afterAll(async () => {
    await store?.close();
    await unreachable?.close().catch(() => {});
  });

  function writer(usage: UsageStore, ids: SequentialIds, options: Partial<LedgerWriterOptions> = {}) {
    const drops: Array<[number, DropReason]> = [];
    const w = new LedgerWriter(usage, pino({ level: 'silent' }), {
      flushIntervalMs: 10,
      batchSize: 100,
      maxQueue: 10_000,
      onDropped: (n, reason) => drops.push([n, reason]),
      writer: ids.node,
      rollupIntervalMs: 60_000,
      staleMarkMs: 120_000,
      recoverEveryMs: 60_000,
      ...options,
    });
    return { w, drops };
  }

  it('keeps every entry, a bad one too, one attempt per flush; once it is back, writes them all but the bad one', async () => {
    let down = true;
    const logCalls: number[] = [];
    const flaky: UsageStore = Object.create(store.usage, {
      appendLog: {
        value: (rows: readonly LedgerEntry[], mark: Parameters<UsageStore['appendLog']>[1]) => {
          logCalls.push(rows.length);
          return (down ? unreachable.usage : store.usage).appendLog(rows, mark);
        },
      },
    });
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const { w, drops } = writer(flaky, ids);
    const list = entries(ids, 250, 'down');
    list[42] = { ...list[42]!, completionTokens: 2.5 };
    for (const e of list) w.record(e);
    await w.flush();
    await w.flush();
    // Refused connections say the store is down, whatever the rows hold: the batch is kept
    // whole, never split (one attempt for the write record() started on a full batch, then one
    // per flush), and nothing is dropped.
    expect(logCalls).toEqual([100, 100, 100]);
    expect(w.pending).toBe(250);
    expect(drops).toEqual([]);

    down = false;
    await w.flush();
    expect(requestIds(await store.usage.logs({ gateway: GATEWAY, limit: 1_000 }))).toEqual(requestIds(list.filter((_, i) => i !== 42)));
    expect(w.pending).toBe(0);
    expect(drops).toEqual([[1, 'rejected']]);
    await w.stop();
  });

  it('counts the entries that no longer fit the queue when a failed batch goes back into it', async () => {
    await resetDatabase(db.url);
    let fail: (err: Error) => void = () => {};
    let calls = 0;
    const stalled: UsageStore = Object.create(store.usage, {
      appendLog: {
        value: (rows: readonly LedgerEntry[], mark: Parameters<UsageStore['appendLog']>[1]) =>
          ++calls === 1 ? new Promise<void>((_resolve, reject) => (fail = reject)) : store.usage.appendLog(rows, mark),
      },
    });
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const { w, drops } = writer(stalled, ids, { maxQueue: 150 });
    const list = entries(ids, 250, 'overflow');
    for (const e of list.slice(0, 100)) w.record(e); // a full batch: its write starts, and hangs
    await new Promise(setImmediate);
    expect(calls).toBe(1);
    for (const e of list.slice(100)) w.record(e); // 150 wait behind it: the queue is full
    expect(w.dropped).toBe(0);
    const flushed = w.flush();
    fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    await flushed;
    // 100 back + 150 waiting is 100 more than the queue holds: the oldest 100 are dropped, counted.
    expect(drops).toEqual([[100, 'queue_full']]);
    expect(w.dropped).toBe(100);
    expect(requestIds(await store.usage.logs({ gateway: GATEWAY, limit: 1_000 }))).toEqual(requestIds(list.slice(100)));
    await w.stop();
  });
});

/**
 * SQLite writes a batch in transactions of 64 rows: when one of them fails, those before it are
 * in. Written again, or split, the batch must not count them twice nor take them for refused.
 */
describe('a ledger entry SQLite refuses mid-batch', () => {
  it('is dropped alone; the rows committed before it are written once, in the log and the rollups', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-refused-'));
    const store = openSqliteStore(dir); // a file: written by the writer thread
    await store.migrate();
    // A trigger stands in for a row the database refuses (RAISE: SQLITE_CONSTRAINT_TRIGGER).
    const side = new BetterSqlite3(path.join(dir, 'tollgate.db'));
    side.exec(`create trigger refuse_poison before insert on request_log when new.request_id = 'mid-150'
      begin select raise(abort, 'refused'); end`);
    side.close();
    const ids = new SequentialIds(LEDGER_ID_PREFIX);
    const drops: Array<[number, DropReason]> = [];
    const w = new LedgerWriter(store.usage, pino({ level: 'silent' }), {
      flushIntervalMs: 10,
      batchSize: 200,
      maxQueue: 10_000,
      onDropped: (n, reason) => drops.push([n, reason]),
      writer: ids.node,
      rollupIntervalMs: 60_000,
      staleMarkMs: 120_000,
      recoverEveryMs: 60_000,
    });
    const list = entries(ids, 200, 'mid');
    for (const e of list) w.record(e);
    await w.flush();
    const good = list.filter((e) => e.requestId !== 'mid-150');
    expect(requestIds(await store.usage.logs({ gateway: GATEWAY, limit: 1_000 }))).toEqual(requestIds(good));
    expect(drops).toEqual([[1, 'rejected']]);
    const points = await store.usage.usage({ gateway: GATEWAY, fromMs: 0, toMs: Date.now() + 86_400_000, interval: 'day' });
    expect(points.reduce((n, p) => n + p.requests.total, 0)).toBe(good.length);
    await w.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
