import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { runCli, runCliOk, SLOW } from '../support/cli.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** `tollgate mcp servers | grants | limits | logs` against a real gateway. */
describe('tollgate mcp', () => {
  let gw: TestGateway;
  const ok = (args: string[], env?: Record<string, string | undefined>) => runCliOk(gw.url, args, env);

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
  });
  afterAll(() => gw.close());

  it('registers a server with its credential from the environment, grants it, limits it and blocks it', SLOW, async () => {
    const created = await ok(['mcp', 'servers', 'create', 'github', '-r', 'r1', '--endpoint', 'https://mcp.example.com/mcp', '--auth', 'bearer', '--auth-value-env', 'GH_TOKEN'], {
      GH_TOKEN: 'ghp-from-env',
    });
    expect(created).toContain('github');
    expect(created).toContain('/mcp/github');
    expect(created).not.toContain('ghp-from-env');
    const server = expectStatus<any>(await gw.admin('GET', '/resources/r1/mcp-servers/github'), 200);
    expect(server.upstreamAuth).toEqual({ type: 'bearer', headerName: null, hasValue: true });

    const missing = await runCli(gw.url, ['mcp', 'servers', 'create', 'x', '-r', 'r1', '--endpoint', 'https://x.example.com', '--auth', 'bearer', '--auth-value-env', 'NOT_SET_ANYWHERE'], { NOT_SET_ANYWHERE: undefined });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('NOT_SET_ANYWHERE');

    expect(await ok(['mcp', 'grants', 'set', '-g', 'gw1', '--server', 'github', '--project', 'p1', '--tool', 'search', '--tool', 'read'])).toMatch(/github\s+p1\s+read,search/);
    const limit = JSON.parse(await ok(['mcp', 'limits', 'create', '-g', 'gw1', '--project', 'p1', '--server', 'github', '--tool', 'search', '--cpm', '10', '--json']));
    expect(limit).toMatchObject({ project: 'p1', server: 'github', tool: 'search', callsPerMinute: 10 });
    expect(await ok(['mcp', 'limits', 'status', limit.id, '-g', 'gw1'])).toContain('0 of 10 calls used');
    expect(await ok(['mcp', 'limits', 'list', '-g', 'gw1'])).toContain(limit.id);
    expect(await ok(['mcp', 'servers', 'block', 'github', '-r', 'r1'])).toMatch(/github\s+blocked/);
    expect(expectStatus<any>(await gw.admin('GET', '/resources/r1/mcp-servers/github'), 200).status).toBe('blocked');
    expect(await ok(['mcp', 'logs', '-g', 'gw1'])).toContain('no MCP calls');
    expect(await ok(['mcp', 'usage', '-g', 'gw1', '--group-by', 'tool'])).toContain('no MCP calls');
    expect(JSON.parse(await ok(['mcp', 'usage', '-g', 'gw1', '--json']))).toMatchObject({ kind: 'mcp', gateway: 'gw1', totals: { calls: { total: 0 } } });
    await ok(['mcp', 'grants', 'revoke', '-g', 'gw1', '--server', 'github', '--project', 'p1']);
    expect(expectStatus<any>(await gw.admin('GET', '/gateways/gw1/mcp-servers'), 200).items).toEqual([]);
  });
});
