import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBasic, startGateway } from '../support/harness.js';
import { startMcpUpstream, UPSTREAM_TOKEN, type McpUpstream } from './mcp-upstream.js';

/** Call counts of the embedded gateway survive a graceful restart: the limiter checkpoint holds them (docs/mcp.md). */
describe('MCP call counts across a restart of the embedded gateway', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tollgate-mcp-restart-'));
  let upstream: McpUpstream;
  beforeAll(async () => {
    upstream = await startMcpUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (url: string, key: string): Promise<number> => {
    const client = new Client({ name: 'restart-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp/tools`), { requestInit: { headers: { 'x-api-key': key } } }));
    try {
      return await client.callTool({ name: 'echo', arguments: { text: 'x' } }).then(
        () => 200,
        (e: { code?: number }) => e.code ?? 0,
      );
    } finally {
      await client.close();
    }
  };

  it('keeps the calls counted against a quota before a graceful stop', async () => {
    const first = await startGateway({ dataDir });
    const seeded = await seedBasic(first);
    expect((await first.admin('POST', '/resources/r1/mcp-servers', { name: 'tools', url: upstream.url, upstreamAuth: { type: 'bearer', value: UPSTREAM_TOKEN } })).status).toBe(201);
    expect((await first.admin('PUT', '/gateways/gw1/mcp-servers/tools/projects/p1', { tools: null })).status).toBe(200);
    expect((await first.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'tools', callQuota: 2, quotaPeriod: 'monthly' })).status).toBe(201);
    expect(await call(first.url, seeded.key)).toBe(200);
    await first.close();

    const second = await startGateway({ dataDir });
    try {
      expect(await call(second.url, seeded.key)).toBe(200);
      expect(await call(second.url, seeded.key)).toBe(403);
    } finally {
      await second.close();
    }
  });
});
