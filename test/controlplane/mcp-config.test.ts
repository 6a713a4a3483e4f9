import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/harness.js';

/** MCP servers, grants and call limits in the declarative config document (PUT/GET /admin/v1/config). */
function mcpDocument() {
  return {
    version: 1,
    resources: [
      {
        name: 'prod',
        deployments: [{ name: 'chat', provider: 'simulated' }],
        projects: ['search', 'support'],
        mcpServers: [
          { name: 'github', url: 'https://mcp.example.com/mcp', upstreamAuth: { type: 'bearer', value: 'ghp-secret' }, description: 'code' },
          { name: 'docs', url: 'http://127.0.0.1:9/mcp' },
        ],
      },
    ],
    gateways: [
      {
        name: 'prod-gw',
        resource: 'prod',
        projects: ['search', 'support'],
        mcpGrants: [
          { server: 'github', project: 'search', tools: ['search_code', 'get_file'] },
          { server: 'docs', project: 'support', tools: null },
        ],
        mcpLimits: [
          { project: 'search', server: 'github', tool: 'search_code', callsPerMinute: 30 },
          { project: 'support', server: 'docs', callQuota: 1000, quotaPeriod: 'daily' },
        ],
      },
    ],
  };
}

describe('config file: MCP servers, grants and limits', () => {
  let gw: TestGateway;
  const apply = (doc: unknown, query = '') => gw.admin('PUT', `/config${query}`, doc);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('applies them, changes nothing the second time, and exports them without the credential', async () => {
    const dry = await apply(mcpDocument(), '?dryRun=true');
    expect(dry.status).toBe(200);
    const first = await apply(mcpDocument());
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.changes).toEqual(dry.body.changes);
    const targets = first.body.changes.map((c: { action: string; target: string }) => `${c.action} ${c.target}`);
    expect(targets).toEqual(
      expect.arrayContaining([
        'create resources/prod/mcp-servers/github',
        'create resources/prod/mcp-servers/docs',
        'create gateways/prod-gw/mcp-servers/github/projects/search',
        'create gateways/prod-gw/mcp-limits/search/github/search_code',
        'create gateways/prod-gw/mcp-limits/support/docs/*',
      ]),
    );
    expect((await apply(mcpDocument())).body.changes).toEqual([]);

    const server = (await gw.admin('GET', '/resources/prod/mcp-servers/github')).body;
    expect(server.upstreamAuth).toEqual({ type: 'bearer', headerName: null, hasValue: true });
    const grants = (await gw.admin('GET', '/gateways/prod-gw/mcp-servers')).body.items;
    expect(grants.map((g: { server: string; project: string; tools: string[] | null }) => [g.server, g.project, g.tools])).toEqual([
      ['docs', 'support', null],
      ['github', 'search', ['get_file', 'search_code']],
    ]);

    const exported = (await gw.admin('GET', '/config')).body;
    expect(JSON.stringify(exported)).not.toContain('ghp-secret');
    expect(exported.resources[0].mcpServers).toEqual([
      { name: 'docs', url: 'http://127.0.0.1:9/mcp' },
      { name: 'github', url: 'https://mcp.example.com/mcp', upstreamAuth: { type: 'bearer' }, description: 'code' },
    ]);
    expect(exported.gateways[0].mcpLimits).toEqual([
      { project: 'search', server: 'github', tool: 'search_code', callsPerMinute: 30 },
      { project: 'support', server: 'docs', callQuota: 1000, quotaPeriod: 'daily' },
    ]);
    // The export applied back changes nothing (the credential is left as it is).
    expect((await apply(exported)).body.changes).toEqual([]);
  });

  it('updates, blocks and prunes', async () => {
    const doc = mcpDocument() as ReturnType<typeof mcpDocument> & { resources: { mcpServers: Record<string, unknown>[] }[] };
    doc.resources[0]!.mcpServers[1] = { ...doc.resources[0]!.mcpServers[1]!, status: 'blocked' };
    doc.gateways[0]!.mcpGrants = [{ server: 'github', project: 'search', tools: ['get_file'] }];
    doc.gateways[0]!.mcpLimits = [{ project: 'search', server: 'github', tool: 'search_code', callsPerMinute: 60 }];
    const res = await apply(doc, '?prune=true');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const changes = res.body.changes.map((c: { action: string; target: string; fields?: string[] }) => `${c.action} ${c.target}${c.fields ? ` ${c.fields.join(',')}` : ''}`);
    expect(changes).toEqual(
      expect.arrayContaining([
        'update resources/prod/mcp-servers/docs status',
        'update gateways/prod-gw/mcp-servers/github/projects/search tools',
        'update gateways/prod-gw/mcp-limits/search/github/search_code callsPerMinute',
        'delete gateways/prod-gw/mcp-servers/docs/projects/support',
        'delete gateways/prod-gw/mcp-limits/support/docs/*',
      ]),
    );
    expect((await gw.admin('GET', '/resources/prod/mcp-servers/docs')).body.status).toBe('blocked');
    expect((await gw.admin('GET', '/gateways/prod-gw/mcp-limits')).body.items).toHaveLength(1);
  });

  it('refuses a document with problems and changes nothing', async () => {
    const doc = mcpDocument();
    doc.gateways[0]!.mcpGrants = [{ server: 'nope', project: 'search', tools: null }];
    doc.gateways[0]!.mcpLimits = [{ project: 'search', server: 'github', tool: 'search_code' } as (typeof doc.gateways)[0]['mcpLimits'][0]];
    const res = await apply(doc);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain('MCP server "nope" does not exist');
    expect(res.body.error.message).toContain('callsPerMinute, callQuota, or both');
  });
});
