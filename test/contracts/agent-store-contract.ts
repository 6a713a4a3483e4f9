import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent, AgentLimit, AgentRequestRecord } from '../../src/agents/agent-model.js';
import { newId, SequentialIds } from '../../src/domain/ids.js';
import { UniqueViolationError, type Store } from '../../src/store/store.js';
import { at, project, world } from './store-contract.js';

const agent = (gatewayId: string, projectId: string, over: Partial<Agent> = {}): Agent => ({
  id: newId('agt'),
  gatewayId,
  projectId,
  name: `agent-${Math.random().toString(36).slice(2, 8)}`,
  url: 'http://127.0.0.1:9/agent',
  protocol: 'a2a',
  agentCardUrl: 'http://127.0.0.1:9/agent/.well-known/agent-card.json',
  otelAgentId: 'otel-1',
  adminPortalUrl: null,
  description: 'does things',
  blocked: false,
  createdAt: at(1),
  updatedAt: at(1),
  ...over,
});

/** The agent records and the agent request ledger: the same expectations on SQLite and PostgreSQL. */
export function agentStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`agent store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('round-trips an agent, updates only the patch, refuses a second name on the gateway, deletes', async () => {
      const { p, g } = await world(store);
      const a = agent(g.id, p.id);
      await store.agents.insertAgent(a);
      expect(await store.agents.findAgent(g.id, a.name)).toEqual(a);
      await expect(store.agents.insertAgent(agent(g.id, p.id, { name: a.name }))).rejects.toBeInstanceOf(UniqueViolationError);
      await store.agents.updateAgent(a.id, { blocked: true, description: null, updatedAt: at(2) });
      expect(await store.agents.findAgent(g.id, a.name)).toEqual({ ...a, blocked: true, description: null, updatedAt: at(2) });
      await store.agents.deleteAgent(a.id);
      expect(await store.agents.listAgents(g.id)).toEqual([]);
    });

    it('grants once per project; limits per agent and project; loadConfig carries them; a deleted gateway takes them all', async () => {
      const { r, p, g } = await world(store);
      const other = project(r.id);
      await store.insertProject(other);
      const a = agent(g.id, p.id);
      await store.agents.insertAgent(a);
      await store.agents.putGrant({ agentId: a.id, projectId: other.id, createdAt: at(3) });
      await store.agents.putGrant({ agentId: a.id, projectId: other.id, createdAt: at(4) });
      expect(await store.agents.listGrants(a.id)).toEqual([{ agentId: a.id, projectId: other.id, createdAt: at(3) }]);
      const l: AgentLimit = { id: newId('agl'), gatewayId: g.id, agentId: a.id, projectId: other.id, requestsPerMinute: 5, requestQuota: 100, quotaPeriod: 'daily', createdAt: at(1), updatedAt: at(1) };
      await store.agents.insertLimit(l);
      await expect(store.agents.insertLimit({ ...l, id: newId('agl') })).rejects.toBeInstanceOf(UniqueViolationError);
      expect(await store.agents.findLimitByScope(a.id, other.id)).toEqual(l);
      await store.agents.updateLimit(l.id, { requestQuota: null, quotaPeriod: null });
      expect(await store.agents.findLimit(g.id, l.id)).toEqual({ ...l, requestQuota: null, quotaPeriod: null });

      const config = await store.loadConfig();
      expect(config.agents?.agents).toEqual([a]);
      expect(config.agents?.grants).toHaveLength(1);
      expect(config.agents?.limits).toHaveLength(1);

      expect(await store.agents.deleteGrant(a.id, other.id)).toBe(true);
      expect(await store.agents.deleteGrant(a.id, other.id)).toBe(false);
      await store.deleteGateway(g.id);
      expect(await store.agents.loadRecords()).toEqual({ agents: [], grants: [], limits: [] });
    });

    it('keeps the limiter counters of an agent limit while it exists, and drops them with it', async () => {
      const { p, g } = await world(store);
      const a = agent(g.id, p.id);
      await store.agents.insertAgent(a);
      const l: AgentLimit = { id: newId('agl'), gatewayId: g.id, agentId: a.id, projectId: p.id, requestsPerMinute: 5, requestQuota: null, quotaPeriod: null, createdAt: at(1), updatedAt: at(1) };
      await store.agents.insertLimit(l);
      await store.saveLimiterStates([{ limitId: l.id, state: '{"n":1}' }]);
      await store.saveLimiterStates([{ limitId: l.id, state: '{"n":2}' }]);
      expect((await store.loadLimiterStates()).rows).toEqual([{ limitId: l.id, state: '{"n":2}' }]);
      await store.agents.deleteLimit(l.id);
      await store.saveLimiterStates([{ limitId: 'lim_gone', state: '{}' }]);
      expect((await store.loadLimiterStates()).rows).toEqual([]);
    });

    it('keeps agent requests and pages them newest first, with filters', async () => {
      const ids = new SequentialIds('agr');
      const rows: AgentRequestRecord[] = Array.from({ length: 5 }, (_, i) => ({
        id: ids.next(1_000_000 + i),
        atMs: 1_000_000 + i,
        requestId: `r${i}`,
        gateway: 'gw-a',
        agent: i % 2 === 0 ? 'even' : 'odd',
        project: 'p',
        method: 'POST',
        rpcMethod: i === 0 ? null : 'message/send',
        status: 200,
        outcome: i === 4 ? 'rate_limited' : 'ok',
        errorCode: i === 4 ? 'agent_rate_limit_exceeded' : null,
        latencyMs: 1.25,
        streamed: i === 1,
        otelAgentId: null,
        counted: i !== 4,
      }));
      await store.agents.insertRequests(rows);
      await store.agents.insertRequests(rows.slice(0, 1)); // a retried batch is no duplicate
      const all = await store.agents.listRequests({ gateway: 'gw-a', limit: 10 });
      expect(all).toEqual([...rows].reverse());
      expect((await store.agents.listRequests({ gateway: 'gw-a', limit: 10, agent: 'odd' })).map((r) => r.requestId)).toEqual(['r3', 'r1']);
      expect((await store.agents.listRequests({ gateway: 'gw-a', limit: 10, outcome: 'rate_limited' })).map((r) => r.requestId)).toEqual(['r4']);
      expect((await store.agents.listRequests({ gateway: 'gw-a', limit: 2, before: rows[3]!.id })).map((r) => r.requestId)).toEqual(['r2', 'r1']);
      expect(await store.agents.listRequests({ gateway: 'other', limit: 10 })).toEqual([]);
      // What re-seeding the limiter counts: the requests that reached the agent.
      expect(await store.agents.countedSince(1_000_001)).toEqual(
        expect.arrayContaining([
          { gateway: 'gw-a', agent: 'odd', project: 'p', count: 2 },
          { gateway: 'gw-a', agent: 'even', project: 'p', count: 1 },
        ]),
      );
      expect((await store.agents.countedRecent(1_000_003)).map((r) => r.atMs)).toEqual([1_000_003]);
    });
  });
}
