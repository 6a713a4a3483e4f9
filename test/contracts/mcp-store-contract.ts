import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId, SequentialIds } from '../../src/domain/ids.js';
import type { McpGrant, McpLimit, McpServer } from '../../src/domain/mcp.js';
import type { McpCallEntry } from '../../src/store/mcp-store.js';
import { UniqueViolationError, type Store } from '../../src/store/store.js';
import { at, limit, world } from './store-contract.js';

/*
 * The MCP part of the store contract (servers, grants, call limits, the call ledger), run on
 * SQLite (test/store/store.test.ts) and PostgreSQL (test/store/store-postgres.test.ts).
 */

const server = (resourceId: string, over: Partial<McpServer> = {}): McpServer => ({
  id: newId('mcp'),
  resourceId,
  name: `srv-${Math.random().toString(36).slice(2, 8)}`,
  url: 'https://mcp.example.com/mcp',
  authType: 'bearer',
  authHeaderName: null,
  authValueSealed: 'v1.sealed',
  description: null,
  status: 'active',
  createdAt: at(1),
  updatedAt: at(1),
  ...over,
});

export function mcpStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`MCP store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps servers, grants and call limits, and loads them with the config', async () => {
      const { r, p, g, d } = await world(store);
      const s = server(r.id, { description: 'd' });
      await store.mcp.insertServer(s);
      await expect(store.mcp.insertServer({ ...s, id: newId('mcp') })).rejects.toBeInstanceOf(UniqueViolationError);
      await store.mcp.updateServer(s.id, { status: 'blocked', updatedAt: at(2) });
      const blocked = { ...s, status: 'blocked' as const, updatedAt: at(2) };
      expect(await store.mcp.findServer(r.id, s.name)).toEqual(blocked);

      const grant: McpGrant = { id: newId('mcg'), gatewayId: g.id, serverId: s.id, projectId: p.id, tools: ['a', 'b'], createdAt: at(1), updatedAt: at(1) };
      await store.mcp.putGrant(grant);
      await store.mcp.putGrant({ ...grant, id: newId('mcg'), tools: null, updatedAt: at(3) });
      expect(await store.mcp.listGrants(g.id)).toEqual([{ ...grant, tools: null, updatedAt: at(3) }]);

      const l: McpLimit = { id: newId('mcpl'), gatewayId: g.id, projectId: p.id, serverId: s.id, tool: null, callsPerMinute: 5, callQuota: 100, quotaPeriod: 'daily', createdAt: at(1), updatedAt: at(1) };
      await store.mcp.insertLimit(l);
      await expect(store.mcp.insertLimit({ ...l, id: newId('mcpl') })).rejects.toBeInstanceOf(UniqueViolationError);
      await store.mcp.insertLimit({ ...l, id: newId('mcpl'), tool: 'a' });
      expect(await store.mcp.findLimitByScope(g.id, p.id, s.id, null)).toEqual(l);
      await store.mcp.updateLimit(l.id, { callsPerMinute: null, updatedAt: at(4) });
      expect((await store.mcp.findLimit(g.id, l.id))?.callsPerMinute).toBeNull();

      const config = await store.loadConfig();
      expect(config.mcp?.servers).toEqual([blocked]);
      expect(config.mcp?.grants.length).toBe(1);
      expect(config.mcp?.limits.length).toBe(2);

      // A checkpoint keeps the counters of call limits (and drops those of deleted ones).
      const tokenLimit = limit(g.id, p.id, d.id);
      await store.insertLimit(tokenLimit);
      await store.saveLimiterStates([
        { limitId: l.id, state: '{}' },
        { limitId: tokenLimit.id, state: '{}' },
        { limitId: 'mcpl_gone', state: '{}' },
      ]);
      expect((await store.loadLimiterStates()).rows.map((row) => row.limitId).sort()).toEqual([l.id, tokenLimit.id].sort());

      // Deleting the server takes its grants and limits with it.
      await store.mcp.deleteServer(s.id);
      expect(await store.mcp.listGrants()).toEqual([]);
      expect(await store.mcp.listLimits()).toEqual([]);
    });

    it('keeps the call ledger: pages newest first, usage by bucket and tool', async () => {
      const ids = new SequentialIds('mcp');
      const base = Date.UTC(2025, 0, 1, 10, 0, 0);
      const entry = (i: number, over: Partial<McpCallEntry> = {}): McpCallEntry => ({
        id: ids.next(base + i * 1000),
        atMs: base + i * 1000,
        requestId: `r${i}`,
        gateway: 'gw',
        project: 'p',
        server: 's',
        method: 'tools/call',
        tool: i % 2 === 0 ? 'echo' : 'add',
        status: 200,
        outcome: 'ok',
        errorCode: null,
        latencyMs: 2.5,
        upstreamMs: 1.25,
        session: 'sess',
        ...over,
      });
      const entries = [entry(0), entry(1), entry(2), entry(3, { outcome: 'rate_limited', status: 429, errorCode: 'tool_rate_limit_exceeded', upstreamMs: null }), entry(70, { method: 'tools/list', tool: null })];
      await store.mcp.appendCalls(entries);
      const page = await store.mcp.calls({ gateway: 'gw', limit: 2 });
      expect(page).toEqual([entries[4], entries[3]]);
      expect(await store.mcp.calls({ gateway: 'gw', limit: 10, before: entries[3]!.id, tool: 'echo' })).toEqual([entries[2], entries[0]]);
      expect(await store.mcp.calls({ gateway: 'other', limit: 10 })).toEqual([]);

      const byTool = await store.mcp.usage({ gateway: 'gw', fromMs: base, toMs: base + 3_600_000, intervalMs: 60_000, groupBy: 'tool' });
      const first = byTool.filter((pt) => pt.bucketMs === base);
      expect(Object.fromEntries(first.map((pt) => [pt.group, pt.calls.total]))).toEqual({ echo: 2, add: 2 });
      expect(first.find((pt) => pt.group === 'add')?.calls.rate_limited).toBe(1);
      expect(byTool.find((pt) => pt.bucketMs === base + 60_000)).toMatchObject({ group: '', calls: { total: 1, ok: 1 } });
      const all = await store.mcp.usage({ gateway: 'gw', fromMs: base, toMs: base + 3_600_000, intervalMs: 3_600_000 });
      expect(all).toEqual([{ bucketMs: base, group: null, calls: { total: 5, ok: 4, rate_limited: 1, quota_exceeded: 0, rejected: 0, upstream_error: 0, client_aborted: 0 }, latencyMsSum: 12.5 }]);
      // The calls that counted against limits: tools/call rows the gateway did not refuse.
      const counted = await store.mcp.countedCalls(base);
      expect(counted.map((c) => c.tool).sort()).toEqual(['add', 'echo', 'echo']);
      expect(counted.find((c) => c.tool === 'add')).toEqual({ gateway: 'gw', project: 'p', server: 's', tool: 'add', startMs: base + 1000 - 2.5, endMs: base + 1000 });
      expect(await store.mcp.countedCalls(base + 2000)).toHaveLength(1);
      expect(await store.mcp.pruneCalls(base + 60_000)).toBe(4);
    });
  });
}
