import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStatus } from '../support/admin-helpers.js';
import { startGateway, type TestGateway } from '../support/harness.js';

/** Agents and agent limits in the config document: apply, re-apply (no change), update, export, prune. */
function document(agents: unknown[], agentLimits: unknown[]) {
  return {
    version: 1,
    resources: [{ name: 'r', deployments: [], projects: ['owner', 'guest'] }],
    gateways: [{ name: 'g', resource: 'r', projects: ['owner', 'guest'], agents, agentLimits }],
  };
}

describe('config file: agents', () => {
  let gw: TestGateway;
  const apply = (doc: unknown, query = '') => gw.admin('PUT', `/config${query}`, doc);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  it('creates agents with grants, block and limits; a second apply changes nothing; export gives the same back', async () => {
    const agents = [
      { name: 'planner', project: 'owner', url: 'http://127.0.0.1:9/a2a', protocol: 'a2a', otelAgentId: 'o-1', projects: ['guest'], blocked: true },
      { name: 'plain', project: 'owner', url: 'http://127.0.0.1:9/http', description: 'plain' },
    ];
    const limits = [{ agent: 'planner', project: 'guest', requestsPerMinute: 10, requestQuota: 100, quotaPeriod: 'daily' }];
    const first = expectStatus(await apply(document(agents, limits)), 200);
    expect(first.changes.filter((c: { kind: string }) => c.kind.startsWith('agent'))).toEqual([
      { action: 'create', kind: 'agent', target: 'gateways/g/agents/planner' },
      { action: 'create', kind: 'agent', target: 'gateways/g/agents/plain' },
      { action: 'create', kind: 'agent-limit', target: 'gateways/g/agent-limits/planner/guest' },
    ]);
    const planner = expectStatus(await gw.admin('GET', '/gateways/g/agents/planner'), 200);
    expect(planner).toMatchObject({ status: 'blocked', projects: ['guest'], agentCardUrl: 'http://127.0.0.1:9/a2a/.well-known/agent-card.json', otelAgentId: 'o-1' });
    expect(expectStatus(await apply(document(agents, limits)), 200).changes).toEqual([]);

    const exported = expectStatus(await gw.admin('GET', '/config'), 200);
    const g = exported.gateways[0];
    expect(g.agents).toEqual([
      { name: 'plain', project: 'owner', url: 'http://127.0.0.1:9/http', protocol: 'http', description: 'plain', blocked: false, projects: [] },
      { name: 'planner', project: 'owner', url: 'http://127.0.0.1:9/a2a', protocol: 'a2a', otelAgentId: 'o-1', blocked: true, projects: ['guest'] },
    ]);
    expect(g.agentLimits).toEqual(limits);
    // The export applies as is, with no change.
    expect(expectStatus(await apply(exported), 200).changes).toEqual([]);
  });

  it('updates what changed (unblock, revoke, a field, a limit value) and prunes what is no longer named', async () => {
    const agents = [{ name: 'planner', project: 'owner', url: 'http://127.0.0.1:9/a2a', protocol: 'a2a', description: 'now described' }];
    const limits = [{ agent: 'planner', project: 'guest', requestsPerMinute: 20 }];
    const dry = expectStatus(await apply(document(agents, limits), '?dryRun=true&prune=true'), 200);
    expect(dry.changes.filter((c: { kind: string }) => c.kind.startsWith('agent'))).toEqual([
      { action: 'update', kind: 'agent', target: 'gateways/g/agents/planner', fields: ['otelAgentId', 'description', 'blocked', 'projects'] },
      { action: 'update', kind: 'agent-limit', target: 'gateways/g/agent-limits/planner/guest', fields: ['requestsPerMinute', 'requestQuota', 'quotaPeriod'] },
      { action: 'delete', kind: 'agent', target: 'gateways/g/agents/plain' },
    ]);
    expectStatus(await apply(document(agents, limits), '?prune=true'), 200);
    const planner = expectStatus(await gw.admin('GET', '/gateways/g/agents/planner'), 200);
    expect(planner).toMatchObject({ status: expect.not.stringMatching('blocked'), projects: [], description: 'now described', otelAgentId: null });
    expect(expectStatus(await gw.admin('GET', '/gateways/g/agents'), 200).items).toHaveLength(1);
    expect(expectStatus(await gw.admin('GET', '/gateways/g/agent-limits'), 200).items[0]).toMatchObject({ requestsPerMinute: 20, requestQuota: null, quotaPeriod: null });
  });

  it('refuses a document naming an unknown project or agent, changing nothing', async () => {
    const bad = document([{ name: 'x', project: 'nobody', url: 'http://a' }], [{ agent: 'ghost', project: 'owner', requestsPerMinute: 1 }]);
    const res = await apply(bad);
    expect(res.status).toBe(400);
    const text = JSON.stringify(res.body);
    expect(text).toContain('project \\"nobody\\"');
    expect(text).toContain('no such agent');
  });
});
