import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from './mcp-upstream.js';

/**
 * `tollgate start` killed with SIGKILL after tool calls made since its last limiter checkpoint:
 * at the next start the call counters are the checkpoint's plus the calls the MCP ledger holds
 * after it (docs/mcp.md, what survives what).
 */
describe('MCP call counts after a crash of the embedded gateway', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-mcp-crash-'));
  let upstream: McpUpstream;
  const processes: GatewayProcess[] = [];
  beforeAll(async () => {
    upstream = await startMcpUpstream();
  });
  afterAll(async () => {
    for (const p of processes) await p.kill();
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    // A long checkpoint interval: the test sees one checkpoint, then kills before the next.
    const gw = await spawnGateway(['start', '--data-dir', dataDir], { TOLLGATE_LEDGER_FLUSH_MS: '50', TOLLGATE_LIMITER_CHECKPOINT_MS: '10000' });
    processes.push(gw);
    return gw;
  };
  const checkpointed = (limitId: string): boolean => {
    const db = new Database(path.join(dataDir, 'tollgate.db'), { readonly: true });
    try {
      return (db.prepare('select count(*) as n from limiter_state where limit_id = ?').get(limitId) as { n: number }).n === 1;
    } finally {
      db.close();
    }
  };

  it('counts the calls made after the last checkpoint once, from the MCP ledger', async () => {
    const first = await start();
    const ok = async (method: string, p: string, body?: unknown) => {
      const res = await first.admin(method, p, body);
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await ok('POST', '/resources', { name: 'r' });
    await ok('POST', '/gateways', { name: 'gw', resource: 'r', instance: { mode: 'new' } });
    const key = (await ok('POST', '/resources/r/projects', { name: 'p' })).keys.primary as string;
    await ok('POST', '/resources/r/mcp-servers', { name: 'tools', url: upstream.url, upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN } });
    await ok('PUT', '/gateways/gw/mcp-servers/tools/projects/p', { tools: null });
    const limit = await ok('POST', '/gateways/gw/mcp-limits', { project: 'p', server: 'tools', callQuota: 100, quotaPeriod: 'daily' });

    const client = new Client({ name: 'crash-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${first.url}/mcp/tools`), { requestInit: { headers: { 'api-key': key } } }));
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'echo', arguments: { text: `before ${i}` } });
    // Wait (bounded) for the checkpoint that holds these three.
    for (let i = 0; i < 150 && !checkpointed(limit.id); i++) await sleep(100);
    expect(checkpointed(limit.id)).toBe(true);
    for (let i = 0; i < 2; i++) await client.callTool({ name: 'echo', arguments: { text: `after ${i}` } });
    // Both are in the ledger before the kill.
    for (let i = 0; i < 100; i++) {
      const logs = await first.admin('GET', '/gateways/gw/logs?kind=mcp&tool=echo');
      if (logs.body.items.length >= 5) break;
      await sleep(50);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    await client.close().catch(() => {});

    const second = await start();
    const status = await second.admin('GET', `/gateways/gw/mcp-limits/${limit.id}/status`);
    expect(status.status).toBe(200);
    expect(status.body.quota.used).toBe(5);
  }, 90_000);
});
