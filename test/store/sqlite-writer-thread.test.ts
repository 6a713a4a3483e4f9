import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/open-store.js';
import { toRow } from '../../src/store/kysely-usage-store.js';
import { LEDGER_SQL, type LedgerWrite } from '../../src/store/sqlite-ledger-sql.js';
import { SqliteWriterThread } from '../../src/store/sqlite-writer-thread.js';
import type { LedgerEntry } from '../../src/usage/ledger.js';
import { writeFailureOf } from '../../src/usage/write-failure.js';

const logWrite = (e: LedgerEntry): LedgerWrite[] => [{ rows: [Object.values(toRow(e))] }];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-wal-'));
  dirs.push(dir);
  return dir;
};

const entry = (i: number): LedgerEntry => ({
  id: `lg_${String(i).padStart(16, '0')}`,
  atMs: Date.UTC(2026, 0, 1) + i,
  requestId: `req-${i}`,
  gateway: 'gw',
  project: 'p',
  deployment: 'd',
  operation: 'chat.completions',
  stream: false,
  status: 200,
  outcome: 'ok',
  errorCode: null,
  upstreamStatus: 200,
  promptTokens: 20,
  completionTokens: 10,
  totalTokens: 30,
  latencyMs: 1.5,
  upstreamMs: 1,
  overheadMs: 0.5,
  content: 'x'.repeat(200),
});

const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

describe('the SQLite writer thread', () => {
  it('writes the ledger and checkpoints the log into the database off the event loop; nothing is lost', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'tollgate.db');
    const store = openSqliteStore(dir);
    await store.migrate();
    const entries = Array.from({ length: 5_000 }, (_, i) => entry(i));
    await store.usage.append(entries);
    // The writer no longer checkpoints: the rows reach the database file through the worker.
    for (let i = 0; i < 100 && size(db) < 1_000_000; i++) await sleep(50);
    expect(size(db)).toBeGreaterThan(1_000_000);
    await store.usage.append([entry(5_000)]);
    await store.close();

    const again = openSqliteStore(dir);
    try {
      const logs = await again.usage.logs({ gateway: 'gw', limit: 10 });
      expect(logs[0]!.id).toBe(entry(5_000).id);
      const [point] = await again.usage.usage({ gateway: 'gw', fromMs: 0, toMs: Date.UTC(2027, 0, 1), interval: 'day' });
      expect(point!.requests.total).toBe(5_001);
    } finally {
      await again.close();
    }
  });

  it('hands checkpoints back to the main connection when stopped, and reports failed writes', async () => {
    const file = path.join(tempDir(), 'x.db');
    const main = new BetterSqlite3(file);
    main.pragma('journal_mode = WAL');
    const errors: string[] = [];
    const thread = SqliteWriterThread.start(main, file, LEDGER_SQL, { checkpointMs: 50, onError: (m) => errors.push(m) });
    expect(main.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // No tables here: the write fails in the thread and the caller hears why.
    await expect(thread.write(logWrite(entry(1)))).rejects.toThrow(/no such table: request_log/);
    expect(thread.alive).toBe(true);
    await thread.stop();
    expect(thread.alive).toBe(false);
    expect(main.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await expect(thread.write(logWrite(entry(2)))).rejects.toThrow(/stopped/);
    expect(errors).toEqual([]);
    main.close();
  });

  it("fails a write the database refuses with SQLite's own code, which says the row is at fault", async () => {
    const store = openSqliteStore(tempDir());
    await store.migrate();
    const refused = await store.usage.appendLog([{ ...entry(1), gateway: null as unknown as string }], { writer: 'w1', throughId: 'req_0', seenMs: 0 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toMatchObject({ message: expect.stringMatching(/NOT NULL constraint failed/), code: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(writeFailureOf(refused)).toBe('rows');
    await store.close();
  });

  it('admin transactions wait for the thread rather than fail (BEGIN IMMEDIATE)', async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    await store.migrate();
    const before = await store.configVersion();
    const entries = Array.from({ length: 3_000 }, (_, i) => entry(i));
    const writing = store.usage.append(entries);
    // Read-then-write transactions while the thread commits chunk after chunk.
    for (let i = 0; i < 20; i++) {
      await store.transaction(async (tx) => {
        await tx.configVersion();
        await sleep(2); // the thread commits meanwhile
        await tx.bumpConfigVersion();
      });
    }
    await writing;
    expect(await store.configVersion()).toBe(before + 20);
    await store.close();
  });
});
