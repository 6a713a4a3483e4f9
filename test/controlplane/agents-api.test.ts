import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** The agent and agent-limit routes: validation, not-found and conflicts, roles, audit. */
describe('admin API: agents and agent limits', () => {
  let gw: TestGateway;
  let viewer = '';
  let gatewayAdmin = '';

  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
    expectStatus(await gw.admin('POST', '/resources', { name: 'r2' }), 201);
    expectStatus(await gw.admin('POST', '/resources/r2/projects', { name: 'elsewhere' }), 201);
    viewer = expectStatus(await gw.admin('POST', '/tokens', { name: 'v', role: 'viewer' }), 201).token;
    gatewayAdmin = expectStatus(await gw.admin('POST', '/tokens', { name: 'ga', role: 'gateway-admin' }), 201).token;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('registers an agent with every field; the card URL defaults under the agent URL, or resolves a path', async () => {
    const a2a = expectStatus(
      await gw.admin('POST', '/gateways/gw1/agents', {
        name: 'planner',
        project: 'p1',
        url: 'http://127.0.0.1:9/a2a/',
        protocol: 'a2a',
        otelAgentId: 'otel-planner',
        adminPortalUrl: 'https://portal.example/planner',
        description: 'Plans',
      }),
      201,
    );
    expect(a2a).toMatchObject({
      name: 'planner',
      project: 'p1',
      protocol: 'a2a',
      agentCardUrl: 'http://127.0.0.1:9/a2a/.well-known/agent-card.json',
      otelAgentId: 'otel-planner',
      adminPortalUrl: 'https://portal.example/planner',
      description: 'Plans',
      projects: [],
      proxyUrl: `${gw.url}/agents/planner`,
    });
    expect(['running', 'unknown']).toContain(a2a.status);
    const custom = expectStatus(await gw.admin('POST', '/gateways/gw1/agents', { name: 'custom', project: 'p1', url: 'http://127.0.0.1:9/x', protocol: 'a2a', agentCardUrl: '/card.json' }), 201);
    expect(custom.agentCardUrl).toBe('http://127.0.0.1:9/x/card.json');
    const http = expectStatus(await gw.admin('POST', '/gateways/gw1/agents', { name: 'plain', project: 'p1', url: 'https://agent.example/api' }), 201);
    expect(http).toMatchObject({ protocol: 'http', agentCardUrl: null });
    const listed = expectStatus(await gw.admin('GET', '/gateways/gw1/agents'), 200).items.map((a: { name: string }) => a.name);
    expect(listed).toEqual(['custom', 'plain', 'planner']);
  });

  it('validates bodies and names what is wrong', async () => {
    expect(expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'x', project: 'p1' }), 400, 'validation_failed')).toMatch(/url/);
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'x', project: 'p1', url: 'ftp://a' }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'x', project: 'p1', url: 'http://a', protocol: 'grpc' }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'Bad Name', project: 'p1', url: 'http://a' }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'x', project: 'p1', url: 'http://a', extra: 1 }), 400, 'validation_failed');
    // Only projects of the gateway's resource.
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'x', project: 'elsewhere', url: 'http://a' }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/nope/agents', { name: 'x', project: 'p1', url: 'http://a' }), 404, 'not_found');
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'plain', project: 'p1', url: 'http://a' }), 409, 'already_exists');
  });

  it('updates, grants and revokes projects, blocks and deletes', async () => {
    const patched = expectStatus(await gw.admin('PATCH', '/gateways/gw1/agents/planner', { url: 'http://127.0.0.1:9/v2', description: null }), 200);
    // The default card moves with the URL.
    expect(patched).toMatchObject({ url: 'http://127.0.0.1:9/v2', agentCardUrl: 'http://127.0.0.1:9/v2/.well-known/agent-card.json', description: null });
    expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 201);
    expect(expectStatus(await gw.admin('PUT', '/gateways/gw1/agents/planner/projects/p2'), 200).projects).toEqual(['p2']);
    expectError(await gw.admin('PUT', '/gateways/gw1/agents/planner/projects/elsewhere'), 404, 'not_found');
    expectError(await gw.admin('DELETE', '/gateways/gw1/agents/planner/projects/p1'), 400, 'validation_failed');
    expect(expectStatus(await gw.admin('DELETE', '/gateways/gw1/agents/planner/projects/p2'), 200).projects).toEqual([]);
    expectError(await gw.admin('DELETE', '/gateways/gw1/agents/planner/projects/p2'), 404, 'not_found');
    expect(expectStatus(await gw.admin('POST', '/gateways/gw1/agents/custom/block'), 200).status).toBe('blocked');
    expect(expectStatus(await gw.admin('POST', '/gateways/gw1/agents/custom/unblock'), 200).status).not.toBe('blocked');
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/agents/custom'), 204);
    expectError(await gw.admin('GET', '/gateways/gw1/agents/custom'), 404, 'not_found');
    const audit = expectStatus(await gw.admin('GET', '/audit?limit=50'), 200).items.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['agent.create', 'agent.update', 'agent.grant', 'agent.revoke', 'agent.block', 'agent.unblock', 'agent.delete']));
  });

  it('agent limits: values checked like token limits, one per agent and project', async () => {
    expect(expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1' }), 400, 'validation_failed')).toMatch(/requestsPerMinute/);
    expect(expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1', requestQuota: 5 }), 400, 'validation_failed')).toMatch(/quotaPeriod/);
    expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1', requestsPerMinute: 0 }), 400, 'validation_failed');
    expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'ghost', project: 'p1', requestsPerMinute: 5 }), 404, 'not_found');
    const limit = expectStatus(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1', requestsPerMinute: 5 }), 201);
    expect(limit).toMatchObject({ agent: 'plain', project: 'p1', requestsPerMinute: 5, requestQuota: null, quotaPeriod: null });
    expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1', requestsPerMinute: 9 }), 409, 'already_exists');
    const updated = expectStatus(await gw.admin('PATCH', `/gateways/gw1/agent-limits/${limit.id}`, { requestQuota: 100, quotaPeriod: 'weekly' }), 200);
    expect(updated).toMatchObject({ requestsPerMinute: 5, requestQuota: 100, quotaPeriod: 'weekly' });
    expect(expectStatus(await gw.admin('GET', `/gateways/gw1/agent-limits/${limit.id}`), 200)).toEqual(updated);
    expect(expectStatus(await gw.admin('GET', '/gateways/gw1/agent-limits'), 200).items).toEqual([updated]);
    expectStatus(await gw.admin('DELETE', `/gateways/gw1/agent-limits/${limit.id}`), 204);
    expectError(await gw.admin('GET', `/gateways/gw1/agent-limits/${limit.id}`), 404, 'not_found');
  });

  it('a viewer reads but changes nothing; a gateway-admin manages agents', async () => {
    expectStatus(await gw.admin('GET', '/gateways/gw1/agents', undefined, viewer), 200);
    expectStatus(await gw.admin('GET', '/gateways/gw1/agent-limits', undefined, viewer), 200);
    expectStatus(await gw.admin('GET', '/gateways/gw1/logs?kind=agent', undefined, viewer), 200);
    expectError(await gw.admin('POST', '/gateways/gw1/agents', { name: 'v', project: 'p1', url: 'http://a' }, viewer), 403, 'forbidden');
    expectError(await gw.admin('POST', '/gateways/gw1/agents/plain/block', undefined, viewer), 403, 'forbidden');
    expectError(await gw.admin('POST', '/gateways/gw1/agent-limits', { agent: 'plain', project: 'p1', requestsPerMinute: 1 }, viewer), 403, 'forbidden');
    expectStatus(await gw.admin('POST', '/gateways/gw1/agents', { name: 'by-ga', project: 'p1', url: 'http://a' }, gatewayAdmin), 201);
    expectStatus(await gw.admin('POST', '/gateways/gw1/agents/by-ga/block', undefined, gatewayAdmin), 200);
  });

  it('builds proxy URLs from TOLLGATE_PUBLIC_URL when it is set', async () => {
    const other = await startGateway({ publicUrl: 'https://ai.example.com/' });
    try {
      await seedBasic(other);
      const created = expectStatus(await other.admin('POST', '/gateways/gw1/agents', { name: 'a', project: 'p1', url: 'http://127.0.0.1:9' }), 201);
      expect(created.proxyUrl).toBe('https://ai.example.com/agents/a');
    } finally {
      await other.close();
    }
  });
});
