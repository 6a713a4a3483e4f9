import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { McpAuthType, McpGrant, McpLimit, McpServer, McpServerStatus } from '../domain/mcp.js';
import type { QuotaPeriod } from '../domain/model.js';
import type { Database } from './schema.js';
import { UniqueViolationError } from './store.js';

/** The MCP records and the MCP call ledger, on the config store's database (SQLite or PostgreSQL). */

export type McpServerPatch = Partial<Pick<McpServer, 'url' | 'authType' | 'authHeaderName' | 'authValueSealed' | 'description' | 'status' | 'updatedAt'>>;
export type McpLimitPatch = Partial<Pick<McpLimit, 'callsPerMinute' | 'callQuota' | 'quotaPeriod' | 'updatedAt'>>;

export const MCP_OUTCOMES = ['ok', 'rate_limited', 'quota_exceeded', 'rejected', 'upstream_error', 'client_aborted'] as const;
export type McpOutcome = (typeof MCP_OUTCOMES)[number];

/** One JSON-RPC message a client sent to an MCP server through the gateway. */
export interface McpCallEntry {
  id: string;
  /** When the exchange ended (it began at atMs - latencyMs). */
  atMs: number;
  requestId: string;
  /** The gateway's id (a deleted gateway's name may be reused: its calls stay its own). */
  gateway: string;
  project: string;
  server: string;
  /** The JSON-RPC method (`tools/call`, `tools/list`, …); `response` for a client's answer to the server. */
  method: string;
  tool: string | null;
  status: number;
  outcome: McpOutcome;
  errorCode: string | null;
  latencyMs: number;
  upstreamMs: number | null;
  session: string | null;
}

export interface McpCallQuery {
  gateway: string;
  fromMs?: number;
  toMs?: number;
  project?: string;
  server?: string;
  tool?: string;
  outcome?: McpOutcome;
  before?: string;
  limit: number;
}

export type McpGroupBy = 'project' | 'server' | 'tool';
export interface McpUsageQuery {
  gateway: string;
  fromMs: number;
  toMs: number;
  intervalMs: number;
  project?: string;
  server?: string;
  groupBy?: McpGroupBy;
}
export interface McpUsagePoint {
  bucketMs: number;
  group: string | null;
  calls: Record<McpOutcome, number> & { total: number };
  latencyMsSum: number;
}

/** Persistence of MCP servers, grants, limits and calls. */
export interface McpStore {
  insertServer(s: McpServer): Promise<void>;
  listServers(resourceId?: string): Promise<McpServer[]>;
  findServer(resourceId: string, name: string): Promise<McpServer | undefined>;
  updateServer(id: string, patch: McpServerPatch): Promise<void>;
  deleteServer(id: string): Promise<void>;

  /** Inserts or replaces the grant of (gateway, server, project). */
  putGrant(g: McpGrant): Promise<void>;
  listGrants(gatewayId?: string): Promise<McpGrant[]>;
  findGrant(gatewayId: string, serverId: string, projectId: string): Promise<McpGrant | undefined>;
  deleteGrant(id: string): Promise<void>;

  insertLimit(l: McpLimit): Promise<void>;
  listLimits(gatewayId?: string): Promise<McpLimit[]>;
  findLimit(gatewayId: string, id: string): Promise<McpLimit | undefined>;
  findLimitByScope(gatewayId: string, projectId: string, serverId: string, tool: string | null): Promise<McpLimit | undefined>;
  updateLimit(id: string, patch: McpLimitPatch): Promise<void>;
  deleteLimit(id: string): Promise<void>;

  appendCalls(entries: readonly McpCallEntry[]): Promise<void>;
  /** Newest first. */
  calls(query: McpCallQuery): Promise<McpCallEntry[]>;
  usage(query: McpUsageQuery): Promise<McpUsagePoint[]>;
  /** Deletes calls older than the cut-off. */
  pruneCalls(beforeMs: number): Promise<number>;
  /**
   * The tool calls that counted against call limits (they reached the server: not refused by
   * the gateway) ending at or after `fromMs`, with when each began: for re-seeding the counters.
   */
  countedCalls(fromMs: number): Promise<CountedCall[]>;
  /** When the limiter checkpoint last saved each of these limits' counters (ms since epoch); absent: never. */
  checkpointTimes(limitIds: readonly string[]): Promise<Map<string, number>>;
}

/** One tool call that counted, as countedCalls() reads it. */
export interface CountedCall {
  gateway: string;
  project: string;
  server: string;
  tool: string | null;
  /** When the call began (it was counted then). */
  startMs: number;
  /** When it ended (its ledger row's time). */
  endMs: number;
}

/** Outcomes of calls the gateway refused before they reached the server: they did not count. */
const REFUSED: readonly McpOutcome[] = ['rejected', 'rate_limited', 'quota_exceeded'];

type Row<T extends keyof Database> = Selectable<Database[T]>;
const num = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

const toServer = (r: Row<'mcp_servers'>): McpServer => ({
  id: r.id,
  resourceId: r.resource_id,
  name: r.name,
  url: r.url,
  authType: r.auth_type as McpAuthType,
  authHeaderName: r.auth_header_name,
  authValueSealed: r.auth_value_sealed,
  description: r.description,
  status: r.status as McpServerStatus,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toGrant = (r: Row<'mcp_grants'>): McpGrant => ({
  id: r.id,
  gatewayId: r.gateway_id,
  serverId: r.server_id,
  projectId: r.project_id,
  tools: r.tools === null ? null : (JSON.parse(r.tools) as string[]),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toLimit = (r: Row<'mcp_limits'>): McpLimit => ({
  id: r.id,
  gatewayId: r.gateway_id,
  projectId: r.project_id,
  serverId: r.server_id,
  tool: r.tool,
  callsPerMinute: num(r.calls_per_minute),
  callQuota: num(r.call_quota),
  quotaPeriod: r.quota_period as QuotaPeriod | null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toCall = (r: Row<'mcp_call_log'>): McpCallEntry => ({
  id: r.id,
  atMs: Number(r.at_ms),
  requestId: r.request_id,
  gateway: r.gateway,
  project: r.project,
  server: r.server,
  method: r.method,
  tool: r.tool,
  status: Number(r.status),
  outcome: r.outcome as McpOutcome,
  errorCode: r.error_code,
  latencyMs: Number(r.latency_ms),
  upstreamMs: num(r.upstream_ms),
  session: r.session,
});

/** A race between two admins surfaces as the store's UniqueViolationError (see ChangeStep). */
async function guardUnique<T>(op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') throw new UniqueViolationError(err);
    throw err;
  }
}

/** Rows per insert statement (well under either database's parameter limit). */
const INSERT_CHUNK = 200;

export class KyselyMcpStore implements McpStore {
  constructor(private readonly db: Kysely<Database> | Transaction<Database>) {}

  async insertServer(s: McpServer): Promise<void> {
    await guardUnique(this.db
      .insertInto('mcp_servers')
      .values({
        id: s.id,
        resource_id: s.resourceId,
        name: s.name,
        url: s.url,
        auth_type: s.authType,
        auth_header_name: s.authHeaderName,
        auth_value_sealed: s.authValueSealed,
        description: s.description,
        status: s.status,
        created_at: s.createdAt,
        updated_at: s.updatedAt,
      })
      .execute());
  }
  async listServers(resourceId?: string): Promise<McpServer[]> {
    let q = this.db.selectFrom('mcp_servers').selectAll();
    if (resourceId !== undefined) q = q.where('resource_id', '=', resourceId);
    return (await q.orderBy('name').execute()).map(toServer);
  }
  async findServer(resourceId: string, name: string): Promise<McpServer | undefined> {
    const row = await this.db.selectFrom('mcp_servers').selectAll().where('resource_id', '=', resourceId).where('name', '=', name).executeTakeFirst();
    return row && toServer(row);
  }
  async updateServer(id: string, p: McpServerPatch): Promise<void> {
    await this.db
      .updateTable('mcp_servers')
      .set({
        url: p.url,
        auth_type: p.authType,
        auth_header_name: p.authHeaderName,
        auth_value_sealed: p.authValueSealed,
        description: p.description,
        status: p.status,
        updated_at: p.updatedAt,
      })
      .where('id', '=', id)
      .execute();
  }
  async deleteServer(id: string): Promise<void> {
    await this.db.deleteFrom('mcp_servers').where('id', '=', id).execute();
  }

  async putGrant(g: McpGrant): Promise<void> {
    const tools = g.tools === null ? null : JSON.stringify(g.tools);
    await this.db
      .insertInto('mcp_grants')
      .values({
        id: g.id,
        gateway_id: g.gatewayId,
        server_id: g.serverId,
        project_id: g.projectId,
        tools,
        created_at: g.createdAt,
        updated_at: g.updatedAt,
      })
      .onConflict((oc) => oc.columns(['gateway_id', 'server_id', 'project_id']).doUpdateSet({ tools, updated_at: g.updatedAt }))
      .execute();
  }
  async listGrants(gatewayId?: string): Promise<McpGrant[]> {
    let q = this.db.selectFrom('mcp_grants').selectAll();
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toGrant);
  }
  async findGrant(gatewayId: string, serverId: string, projectId: string): Promise<McpGrant | undefined> {
    const row = await this.db
      .selectFrom('mcp_grants')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('server_id', '=', serverId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row && toGrant(row);
  }
  async deleteGrant(id: string): Promise<void> {
    await this.db.deleteFrom('mcp_grants').where('id', '=', id).execute();
  }

  async insertLimit(l: McpLimit): Promise<void> {
    await guardUnique(this.db
      .insertInto('mcp_limits')
      .values({
        id: l.id,
        gateway_id: l.gatewayId,
        project_id: l.projectId,
        server_id: l.serverId,
        tool: l.tool,
        scope_key: l.tool ?? '',
        calls_per_minute: l.callsPerMinute,
        call_quota: l.callQuota,
        quota_period: l.quotaPeriod,
        created_at: l.createdAt,
        updated_at: l.updatedAt,
      })
      .execute());
  }
  async listLimits(gatewayId?: string): Promise<McpLimit[]> {
    let q = this.db.selectFrom('mcp_limits').selectAll();
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toLimit);
  }
  async findLimit(gatewayId: string, id: string): Promise<McpLimit | undefined> {
    const row = await this.db.selectFrom('mcp_limits').selectAll().where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst();
    return row && toLimit(row);
  }
  async findLimitByScope(gatewayId: string, projectId: string, serverId: string, tool: string | null): Promise<McpLimit | undefined> {
    const row = await this.db
      .selectFrom('mcp_limits')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('project_id', '=', projectId)
      .where('server_id', '=', serverId)
      .where('scope_key', '=', tool ?? '')
      .executeTakeFirst();
    return row && toLimit(row);
  }
  async updateLimit(id: string, p: McpLimitPatch): Promise<void> {
    await this.db
      .updateTable('mcp_limits')
      .set({ calls_per_minute: p.callsPerMinute, call_quota: p.callQuota, quota_period: p.quotaPeriod, updated_at: p.updatedAt })
      .where('id', '=', id)
      .execute();
  }
  async deleteLimit(id: string): Promise<void> {
    await this.db.deleteFrom('mcp_limits').where('id', '=', id).execute();
  }

  async appendCalls(entries: readonly McpCallEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
      await this.db
        .insertInto('mcp_call_log')
        .values(
          entries.slice(i, i + INSERT_CHUNK).map((e) => ({
            id: e.id,
            at_ms: e.atMs,
            request_id: e.requestId,
            gateway: e.gateway,
            project: e.project,
            server: e.server,
            method: e.method,
            tool: e.tool,
            status: e.status,
            outcome: e.outcome,
            error_code: e.errorCode,
            latency_ms: e.latencyMs,
            upstream_ms: e.upstreamMs,
            session: e.session,
          })),
        )
        .execute();
    }
  }

  async calls(q: McpCallQuery): Promise<McpCallEntry[]> {
    let query = this.db.selectFrom('mcp_call_log').selectAll().where('gateway', '=', q.gateway);
    if (q.fromMs !== undefined) query = query.where('at_ms', '>=', q.fromMs);
    if (q.toMs !== undefined) query = query.where('at_ms', '<', q.toMs);
    if (q.project !== undefined) query = query.where('project', '=', q.project);
    if (q.server !== undefined) query = query.where('server', '=', q.server);
    if (q.tool !== undefined) query = query.where('tool', '=', q.tool);
    if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
    if (q.before !== undefined) query = query.where('id', '<', q.before);
    return (await query.orderBy('id', 'desc').limit(q.limit).execute()).map(toCall);
  }

  async usage(q: McpUsageQuery): Promise<McpUsagePoint[]> {
    const step = q.intervalMs;
    const from = Math.floor(q.fromMs / step) * step;
    const group = q.groupBy === 'tool' ? sql`coalesce(tool, '')` : q.groupBy === 'server' ? sql`server` : q.groupBy === 'project' ? sql`project` : sql`null`;
    const outcomes = sql.join(
      MCP_OUTCOMES.map((o) => sql`sum(case when outcome = ${sql.lit(o)} then 1 else 0 end) as ${sql.ref(o)}`),
      sql`, `,
    );
    const filters = sql.join(
      [...(q.project !== undefined ? [sql`and project = ${q.project}`] : []), ...(q.server !== undefined ? [sql`and server = ${q.server}`] : [])],
      sql` `,
    );
    const rows = await sql<Record<string, number | string | null>>`
      select (at_ms / ${sql.lit(step)}) * ${sql.lit(step)} as bucket_ms, ${group} as grp, count(*) as total, ${outcomes}, sum(latency_ms) as latency
        from mcp_call_log
       where gateway = ${q.gateway} and at_ms >= ${from} and at_ms < ${q.toMs} ${filters}
       group by 1, 2
       order by 1`.execute(this.db);
    return rows.rows.map((r) => ({
      bucketMs: Number(r.bucket_ms),
      group: r.grp === null || r.grp === undefined ? null : String(r.grp),
      calls: {
        total: Number(r.total),
        ...(Object.fromEntries(MCP_OUTCOMES.map((o) => [o, Number(r[o] ?? 0)])) as Record<McpOutcome, number>),
      },
      latencyMsSum: Number(r.latency ?? 0),
    }));
  }

  async countedCalls(fromMs: number): Promise<CountedCall[]> {
    const rows = await this.db
      .selectFrom('mcp_call_log')
      .select(['gateway', 'project', 'server', 'tool', 'at_ms', 'latency_ms'])
      .where('method', '=', 'tools/call')
      .where('at_ms', '>=', fromMs)
      .where('outcome', 'not in', REFUSED)
      .execute();
    return rows.map((r) => ({ gateway: r.gateway, project: r.project, server: r.server, tool: r.tool, startMs: Number(r.at_ms) - Number(r.latency_ms), endMs: Number(r.at_ms) }));
  }

  async checkpointTimes(limitIds: readonly string[]): Promise<Map<string, number>> {
    if (limitIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('limiter_state').select(['limit_id', 'updated_at']).where('limit_id', 'in', limitIds).execute();
    return new Map(rows.map((r) => [r.limit_id, Date.parse(r.updated_at)]));
  }

  async pruneCalls(beforeMs: number): Promise<number> {
    const result = await this.db.deleteFrom('mcp_call_log').where('at_ms', '<', beforeMs).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
