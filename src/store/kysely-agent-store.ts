import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Agent, AgentGrant, AgentLimit, AgentProtocol, AgentRecords, AgentRequestQuery, AgentRequestRecord, AgentUse } from '../agents/agent-model.js';
import type { QuotaPeriod } from '../domain/model.js';
import type { Outcome } from '../usage/ledger.js';
import type { AgentLimitPatch, AgentPatch, AgentStore } from './agent-store.js';
import type { Database } from './schema.js';
import { UniqueViolationError } from './store.js';

type Row<T extends keyof Database> = Selectable<Database[T]>;

const num = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

const toAgent = (r: Row<'agents'>): Agent => ({
  id: r.id,
  gatewayId: r.gateway_id,
  projectId: r.project_id,
  name: r.name,
  url: r.url,
  protocol: r.protocol as AgentProtocol,
  agentCardUrl: r.agent_card_url,
  otelAgentId: r.otel_agent_id,
  adminPortalUrl: r.admin_portal_url,
  description: r.description,
  blocked: Number(r.blocked) === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toGrant = (r: Row<'agent_grants'>): AgentGrant => ({ agentId: r.agent_id, projectId: r.project_id, createdAt: r.created_at });
const toLimit = (r: Row<'agent_limits'>): AgentLimit => ({
  id: r.id,
  gatewayId: r.gateway_id,
  agentId: r.agent_id,
  projectId: r.project_id,
  requestsPerMinute: num(r.requests_per_minute),
  requestQuota: num(r.request_quota),
  quotaPeriod: r.quota_period as QuotaPeriod | null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toRequest = (r: Row<'agent_requests'>): AgentRequestRecord => ({
  id: r.id,
  atMs: Number(r.at_ms),
  requestId: r.request_id,
  gateway: r.gateway,
  agent: r.agent,
  project: r.project,
  method: r.method,
  rpcMethod: r.rpc_method,
  status: Number(r.status),
  outcome: r.outcome as Outcome,
  errorCode: r.error_code,
  latencyMs: Number(r.latency_ms),
  streamed: Number(r.streamed) === 1,
  otelAgentId: r.otel_agent_id,
  counted: Number(r.counted) === 1,
});

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
async function guardUnique<T>(op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolationError(err);
    throw err;
  }
}

/** The agent records on any Kysely dialect; bound to the caller's transaction when it has one. */
export class KyselyAgentStore implements AgentStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async insertAgent(a: Agent): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('agents')
        .values({
          id: a.id,
          gateway_id: a.gatewayId,
          project_id: a.projectId,
          name: a.name,
          url: a.url,
          protocol: a.protocol,
          agent_card_url: a.agentCardUrl,
          otel_agent_id: a.otelAgentId,
          admin_portal_url: a.adminPortalUrl,
          description: a.description,
          blocked: a.blocked ? 1 : 0,
          created_at: a.createdAt,
          updated_at: a.updatedAt,
        })
        .execute(),
    );
  }
  async listAgents(gatewayId?: string): Promise<Agent[]> {
    let q = this.db.selectFrom('agents').selectAll();
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.orderBy('name').execute()).map(toAgent);
  }
  async findAgent(gatewayId: string, name: string): Promise<Agent | undefined> {
    const row = await this.db.selectFrom('agents').selectAll().where('gateway_id', '=', gatewayId).where('name', '=', name).executeTakeFirst();
    return row && toAgent(row);
  }
  async updateAgent(id: string, p: AgentPatch): Promise<void> {
    const set: Partial<Row<'agents'>> = {};
    if (p.url !== undefined) set.url = p.url;
    if (p.protocol !== undefined) set.protocol = p.protocol;
    if (p.agentCardUrl !== undefined) set.agent_card_url = p.agentCardUrl;
    if (p.otelAgentId !== undefined) set.otel_agent_id = p.otelAgentId;
    if (p.adminPortalUrl !== undefined) set.admin_portal_url = p.adminPortalUrl;
    if (p.description !== undefined) set.description = p.description;
    if (p.blocked !== undefined) set.blocked = p.blocked ? 1 : 0;
    if (p.updatedAt !== undefined) set.updated_at = p.updatedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('agents').set(set).where('id', '=', id).execute();
  }
  async deleteAgent(id: string): Promise<void> {
    await this.db.deleteFrom('agents').where('id', '=', id).execute();
  }

  async putGrant(g: AgentGrant): Promise<void> {
    await this.db
      .insertInto('agent_grants')
      .values({ agent_id: g.agentId, project_id: g.projectId, created_at: g.createdAt })
      .onConflict((oc) => oc.columns(['agent_id', 'project_id']).doNothing())
      .execute();
  }
  async deleteGrant(agentId: string, projectId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('agent_grants').where('agent_id', '=', agentId).where('project_id', '=', projectId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
  async listGrants(agentId?: string): Promise<AgentGrant[]> {
    let q = this.db.selectFrom('agent_grants').selectAll();
    if (agentId !== undefined) q = q.where('agent_id', '=', agentId);
    return (await q.orderBy('created_at').execute()).map(toGrant);
  }

  async insertLimit(l: AgentLimit): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('agent_limits')
        .values({
          id: l.id,
          gateway_id: l.gatewayId,
          agent_id: l.agentId,
          project_id: l.projectId,
          requests_per_minute: l.requestsPerMinute,
          request_quota: l.requestQuota,
          quota_period: l.quotaPeriod,
          created_at: l.createdAt,
          updated_at: l.updatedAt,
        })
        .execute(),
    );
  }
  async listLimits(gatewayId?: string): Promise<AgentLimit[]> {
    let q = this.db.selectFrom('agent_limits').selectAll();
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.orderBy('id').execute()).map(toLimit);
  }
  async findLimit(gatewayId: string, id: string): Promise<AgentLimit | undefined> {
    const row = await this.db.selectFrom('agent_limits').selectAll().where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst();
    return row && toLimit(row);
  }
  async findLimitByScope(agentId: string, projectId: string): Promise<AgentLimit | undefined> {
    const row = await this.db.selectFrom('agent_limits').selectAll().where('agent_id', '=', agentId).where('project_id', '=', projectId).executeTakeFirst();
    return row && toLimit(row);
  }
  async updateLimit(id: string, p: AgentLimitPatch): Promise<void> {
    const set: Partial<Row<'agent_limits'>> = {};
    if (p.requestsPerMinute !== undefined) set.requests_per_minute = p.requestsPerMinute;
    if (p.requestQuota !== undefined) set.request_quota = p.requestQuota;
    if (p.quotaPeriod !== undefined) set.quota_period = p.quotaPeriod;
    if (p.updatedAt !== undefined) set.updated_at = p.updatedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('agent_limits').set(set).where('id', '=', id).execute();
  }
  async deleteLimit(id: string): Promise<void> {
    await this.db.deleteFrom('agent_limits').where('id', '=', id).execute();
  }

  async loadRecords(): Promise<AgentRecords> {
    return { agents: await this.listAgents(), grants: await this.listGrants(), limits: await this.listLimits() };
  }

  async insertRequests(rows: readonly AgentRequestRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('agent_requests')
      .values(
        rows.map((r) => ({
          id: r.id,
          at_ms: r.atMs,
          request_id: r.requestId,
          gateway: r.gateway,
          agent: r.agent,
          project: r.project,
          method: r.method,
          rpc_method: r.rpcMethod,
          status: r.status,
          outcome: r.outcome,
          error_code: r.errorCode,
          latency_ms: r.latencyMs,
          streamed: r.streamed ? 1 : 0,
          otel_agent_id: r.otelAgentId,
          counted: r.counted ? 1 : 0,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
  async countedSince(fromMs: number): Promise<Array<AgentUse & { count: number }>> {
    const rows = await this.db
      .selectFrom('agent_requests')
      .select(['gateway', 'agent', 'project', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('counted', '=', 1)
      .where('at_ms', '>=', fromMs)
      .groupBy(['gateway', 'agent', 'project'])
      .execute();
    return rows.map((r) => ({ gateway: r.gateway, agent: r.agent, project: r.project, count: Number(r.n) }));
  }
  async countedRecent(fromMs: number): Promise<Array<AgentUse & { atMs: number }>> {
    const rows = await this.db.selectFrom('agent_requests').select(['gateway', 'agent', 'project', 'at_ms']).where('counted', '=', 1).where('at_ms', '>=', fromMs).execute();
    return rows.map((r) => ({ gateway: r.gateway, agent: r.agent, project: r.project, atMs: Number(r.at_ms) }));
  }
  async listRequests(q: AgentRequestQuery): Promise<AgentRequestRecord[]> {
    let s = this.db.selectFrom('agent_requests').selectAll().where('gateway', '=', q.gateway);
    if (q.agent !== undefined) s = s.where('agent', '=', q.agent);
    if (q.project !== undefined) s = s.where('project', '=', q.project);
    if (q.outcome !== undefined) s = s.where('outcome', '=', q.outcome);
    if (q.fromMs !== undefined) s = s.where('at_ms', '>=', q.fromMs);
    if (q.toMs !== undefined) s = s.where('at_ms', '<', q.toMs);
    if (q.before !== undefined) s = s.where('id', '<', q.before);
    return (await s.orderBy('id', 'desc').limit(q.limit).execute()).map(toRequest);
  }
}
