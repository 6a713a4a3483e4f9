import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import type { AuditEntry } from '../../src/domain/model.js';
import { openSqliteStore } from '../../src/store/open-store.js';
import { toRow, toRowValues } from '../../src/store/kysely-usage-store.js';
import type { LedgerEntry } from '../../src/usage/ledger.js';
import { at, limit, storeContract, usageFreshnessContract, world } from '../contracts/store-contract.js';
import { agentStoreContract } from '../contracts/agent-store-contract.js';
import { mcpStoreContract } from '../contracts/mcp-store-contract.js';

storeContract('sqlite (in memory)', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  return store;
});
agentStoreContract('sqlite (in memory)', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  return store;
});
mcpStoreContract('sqlite (in memory)', async () => {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  return store;
});

// A database file: ledger writes go through the writer thread, reads through the main connection.
const fileDirs: string[] = [];
afterAll(() => {
  for (const dir of fileDirs) rmSync(dir, { recursive: true, force: true });
});
usageFreshnessContract('sqlite file (writer thread)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-usage-'));
  fileDirs.push(dir);
  const store = openSqliteStore(dir);
  await store.migrate();
  return store;
});

describe('sqlite file store', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('survives close and reopen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-store-'));
    dirs.push(dir);
    const dataDir = path.join(dir, 'data');

    const first = openSqliteStore(dataDir);
    await first.migrate();
    const { r, p, g } = await world(first);
    const l = limit(g.id, p.id, null);
    await first.insertLimit(l);
    const entry: AuditEntry = { id: newId('aud'), at: at(1), actor: 'me', action: 'x', target: 'y', detail: { k: 'v' } };
    await first.appendAudit(entry);
    const version = await first.bumpConfigVersion();
    await first.close();
    expect(existsSync(path.join(dataDir, 'tollgate.db'))).toBe(true);

    const second = openSqliteStore(dataDir);
    try {
      await second.migrate();
      expect(await second.findResource(r.name)).toEqual(r);
      expect(await second.findProject(r.id, p.name)).toEqual(p);
      expect(await second.findGateway(g.name)).toEqual(g);
      expect(await second.listLimits()).toEqual([l]);
      expect(await second.listAudit({ limit: 10 })).toEqual([entry]);
      expect(await second.configVersion()).toBe(version);
    } finally {
      await second.close();
    }
  });
});

describe('ledger rows for the SQLite writer', () => {
  it('toRowValues gives the values of toRow, column for column', () => {
    const entry: LedgerEntry = {
      id: 'lg_1',
      atMs: 1_700_000_000_123,
      requestId: 'r-1',
      gateway: 'g',
      project: 'p',
      deployment: 'd',
      operation: 'chat.completions',
      stream: true,
      status: 200,
      outcome: 'ok',
      errorCode: null,
      upstreamStatus: 200,
      promptTokens: 3,
      completionTokens: 4,
      totalTokens: 7,
      latencyMs: 1.5,
      upstreamMs: 1.25,
      overheadMs: 0.25,
      content: '{"request":"…"}',
      backend: 'east',
      attempts: 2,
      reservedTokens: 40,
      maxTokensCapped: 30,
      refusal: { limitId: 'lim_1', scope: 'per-deployment', kind: 'quota', limit: 1000, remaining: 12 },
      message: 'The token quota…',
      costMicros: 1234,
      currency: 'USD',
    };
    expect(toRowValues(entry)).toEqual(Object.values(toRow(entry)));
    // The refusal is five columns (limit id, scope, kind, value, remaining).
    expect(toRowValues(entry)).toHaveLength(Object.keys(entry).length + 4);
  });
});

describe('the data directory', () => {
  it('is 0700 and its database files 0600, whatever the umask', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-perms-'));
    chmodSync(dataDir, 0o755);
    try {
      const store = openSqliteStore(dataDir);
      await store.migrate();
      await store.usage.append([]);
      const mode = (f: string) => statSync(path.join(dataDir, f)).mode & 0o777;
      expect(mode('.')).toBe(0o700);
      for (const f of ['tollgate.db', 'tollgate.db-wal', 'tollgate.db-shm']) expect({ f, mode: mode(f) }).toEqual({ f, mode: 0o600 });
      await store.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
