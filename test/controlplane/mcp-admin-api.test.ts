import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** The MCP admin API: servers of a resource, grants and call limits of a gateway; validation and roles. */
describe('MCP admin API', () => {
  let gw: TestGateway;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
    for (const [name, role] of [
      ['gw-admin', 'gateway-admin'],
      ['proj-admin', 'project-admin'],
      ['watcher', 'viewer'],
    ] as const) {
      tokens[role] = expectStatus<{ token: string }>(await gw.admin('POST', '/tokens', { name, role }), 201).token;
    }
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('registers a server with a sealed, write-only credential, and edits, blocks and deletes it', async () => {
    const created = expectStatus<any>(
      await gw.admin('POST', '/resources/r1/mcp-servers', {
        name: 'github',
        url: 'https://mcp.example.com/mcp',
        upstreamAuth: { type: 'header', headerName: 'X-Upstream-Key', value: 'sk-upstream-1234' },
        description: 'code tools',
      }),
      201,
    );
    expect(created).toMatchObject({
      name: 'github',
      resource: 'r1',
      url: 'https://mcp.example.com/mcp',
      upstreamAuth: { type: 'header', headerName: 'X-Upstream-Key', hasValue: true },
      status: 'active',
      path: '/mcp/github',
    });
    expect(JSON.stringify(created)).not.toContain('sk-upstream-1234');
    // Stored sealed: the database holds no clear credential.
    const stored = await gw.tollgate.store.mcp.findServer((await gw.tollgate.store.findResource('r1'))!.id, 'github');
    expect(stored?.authValueSealed).toMatch(/^v1\./);
    expect(stored?.authValueSealed).not.toContain('sk-upstream-1234');
    // The audit log keeps no credential either.
    const audit = expectStatus<any>(await gw.admin('GET', '/audit'), 200);
    expect(JSON.stringify(audit)).not.toContain('sk-upstream-1234');

    expectError(await gw.admin('POST', '/resources/r1/mcp-servers', { name: 'github', url: 'https://x.example.com' }), 409, 'already_exists');
    // An edit without a value keeps the sealed one.
    const edited = expectStatus<any>(await gw.admin('PATCH', '/resources/r1/mcp-servers/github', { url: 'https://mcp2.example.com/mcp', description: null }), 200);
    expect(edited).toMatchObject({ url: 'https://mcp2.example.com/mcp', description: null, upstreamAuth: { hasValue: true } });
    expect(expectStatus<any>(await gw.admin('POST', '/resources/r1/mcp-servers/github/block'), 200).status).toBe('blocked');
    expect(expectStatus<any>(await gw.admin('GET', '/resources/r1/mcp-servers'), 200).items.map((s: any) => [s.name, s.status])).toEqual([['github', 'blocked']]);
    expect(expectStatus<any>(await gw.admin('POST', '/resources/r1/mcp-servers/github/unblock'), 200).status).toBe('active');
    expectStatus(await gw.admin('DELETE', '/resources/r1/mcp-servers/github'), 204);
    expectError(await gw.admin('GET', '/resources/r1/mcp-servers/github'), 404, 'not_found');
  });

  it('validates servers, grants and limits, naming the field', async () => {
    const bad = async (path: string, body: unknown, param: string | null, method = 'POST') => {
      const res = await gw.admin(method, path, body);
      expectError(res, 400, 'validation_failed');
      expect(res.body.error.param).toBe(param);
    };
    await bad('/resources/r1/mcp-servers', { name: 'Bad Name', url: 'https://x.example.com' }, 'name');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'ftp://x.example.com' }, 'url');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://user:pw@x.example.com' }, 'url');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://x.example.com', upstreamAuth: { type: 'bearer' } }, 'upstreamAuth.value');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://x.example.com', upstreamAuth: { type: 'header', value: 'v' } }, 'upstreamAuth.headerName');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://x.example.com', upstreamAuth: { type: 'header', headerName: 'Host', value: 'v' } }, 'upstreamAuth.headerName');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://x.example.com', upstreamAuth: { type: 'basic' } }, 'upstreamAuth.type');
    await bad('/resources/r1/mcp-servers', { name: 'a', url: 'https://x.example.com', extra: 1 }, null);
    expectStatus(await gw.admin('POST', '/resources/r1/mcp-servers', { name: 'fs', url: 'http://127.0.0.1:9/mcp' }), 201);

    await bad('/gateways/gw1/mcp-servers/fs/projects/p1', { tools: ['ok', 'not a tool name'] }, 'tools.1', 'PUT');
    await bad('/gateways/gw1/mcp-servers/fs/projects/p1', {}, 'tools', 'PUT');
    expectError(await gw.admin('PUT', '/gateways/gw1/mcp-servers/nope/projects/p1', { tools: null }), 404, 'not_found');
    expectError(await gw.admin('PUT', '/gateways/gw1/mcp-servers/fs/projects/nope', { tools: null }), 404, 'not_found');

    await bad('/gateways/gw1/mcp-limits', { project: 'p1', server: 'fs' }, 'callsPerMinute');
    await bad('/gateways/gw1/mcp-limits', { project: 'p1', server: 'fs', callQuota: 10 }, 'quotaPeriod');
    await bad('/gateways/gw1/mcp-limits', { project: 'p1', server: 'fs', callsPerMinute: 0 }, 'callsPerMinute');
    expectError(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'nope', callsPerMinute: 1 }), 404, 'not_found');
    const limit = expectStatus<any>(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'fs', tool: 'read', callsPerMinute: 10 }), 201);
    expect(limit).toMatchObject({ project: 'p1', server: 'fs', tool: 'read', callsPerMinute: 10, callQuota: null, quotaPeriod: null });
    expect(limit.id).toMatch(/^mcpl_/);
    expectError(await gw.admin('POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'fs', tool: 'read', callQuota: 5, quotaPeriod: 'daily' }), 409, 'limit_exists');
    const patched = expectStatus<any>(await gw.admin('PATCH', `/gateways/gw1/mcp-limits/${limit.id}`, { callQuota: 100, quotaPeriod: 'weekly' }), 200);
    expect(patched).toMatchObject({ callsPerMinute: 10, callQuota: 100, quotaPeriod: 'weekly' });
    await bad(`/gateways/gw1/mcp-limits/${limit.id}`, { callsPerMinute: null, callQuota: null }, 'callsPerMinute', 'PATCH');
    const status = expectStatus<any>(await gw.admin('GET', `/gateways/gw1/mcp-limits/${limit.id}/status`), 200);
    expect(status).toMatchObject({ id: limit.id, tool: 'read', perMinute: { limit: 10, used: 0, remaining: 10 }, quota: { limit: 100, used: 0, period: 'weekly' } });
    expectError(await gw.admin('GET', '/gateways/gw1/mcp-limits/mcpl_nope'), 404, 'not_found');

    const grant = expectStatus<any>(await gw.admin('PUT', '/gateways/gw1/mcp-servers/fs/projects/p1', { tools: ['write', 'read', 'read'] }), 200);
    expect(grant).toMatchObject({ server: 'fs', project: 'p1', tools: ['read', 'write'], serverStatus: 'active' });
    expect(expectStatus<any>(await gw.admin('GET', '/gateways/gw1/mcp-servers'), 200).items).toEqual([grant]);
    expect(expectStatus<any>(await gw.admin('PUT', '/gateways/gw1/mcp-servers/fs/projects/p1', { tools: null }), 200).tools).toBeNull();
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/mcp-servers/fs/projects/p1'), 204);
    expectError(await gw.admin('DELETE', '/gateways/gw1/mcp-servers/fs/projects/p1'), 404, 'not_found');
    expectStatus(await gw.admin('DELETE', `/gateways/gw1/mcp-limits/${limit.id}`), 204);
  });

  it('checks roles: owners manage servers, gateway-admins grants and limits, viewers read', async () => {
    const as = (role: string, method: string, path: string, body?: unknown) => gw.admin(method, path, body, tokens[role]);
    expectStatus(await gw.admin('POST', '/resources/r1/mcp-servers', { name: 'roles', url: 'http://127.0.0.1:9/mcp' }), 201);
    for (const role of ['gateway-admin', 'project-admin', 'viewer']) {
      expectError(await as(role, 'POST', '/resources/r1/mcp-servers', { name: 'x', url: 'http://127.0.0.1:9/mcp' }), 403, 'forbidden');
      expectError(await as(role, 'POST', '/resources/r1/mcp-servers/roles/block'), 403, 'forbidden');
      expectStatus(await as(role, 'GET', '/resources/r1/mcp-servers'), 200);
      expectStatus(await as(role, 'GET', '/gateways/gw1/mcp-servers'), 200);
      expectStatus(await as(role, 'GET', '/gateways/gw1/mcp-limits'), 200);
      expectStatus(await as(role, 'GET', '/gateways/gw1/logs?kind=mcp'), 200);
    }
    for (const role of ['project-admin', 'viewer']) {
      expectError(await as(role, 'PUT', '/gateways/gw1/mcp-servers/roles/projects/p1', { tools: null }), 403, 'forbidden');
      expectError(await as(role, 'POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'roles', callsPerMinute: 1 }), 403, 'forbidden');
    }
    expectStatus(await as('gateway-admin', 'PUT', '/gateways/gw1/mcp-servers/roles/projects/p1', { tools: ['a'] }), 200);
    const limit = expectStatus<any>(await as('gateway-admin', 'POST', '/gateways/gw1/mcp-limits', { project: 'p1', server: 'roles', callsPerMinute: 1 }), 201);
    expectStatus(await as('gateway-admin', 'DELETE', `/gateways/gw1/mcp-limits/${limit.id}`), 204);
  });
});
