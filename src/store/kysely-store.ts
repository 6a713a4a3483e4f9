import { Migrator, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type {
  ArchivedGateway,
  AdminToken,
  AuditEntry,
  Backend,
  CircuitBreakerPolicy,
  Deployment,
  RetryPolicy,
  Gateway,
  GatewayStatus,
  Instance,
  Limit,
  Pricing,
  NodeRecord,
  ProjectGatewayStatus,
  ProviderName,
  Project,
  QuotaPeriod,
  Resource,
  Role,
} from '../domain/model.js';
import { BUDGET_RULE_SUFFIX, DEFAULT_LIMIT_ID_PREFIX } from '../domain/default-limit.js';
import type { UsageStore } from '../usage/ledger.js';
import { KyselyUsageStore } from './kysely-usage-store.js';
import { KyselyAgentStore } from './kysely-agent-store.js';
import type { AgentStore } from './agent-store.js';
import { migrationProvider } from './migrations/index.js';
import { KyselyMcpStore, type McpStore } from './mcp-store.js';
import type { Database } from './schema.js';
import {
  UniqueViolationError,
  type ConfigRecords,
  type DeploymentPatch,
  type GatewayPatch,
  type LimiterCheckpointRecord,
  type LimitPatch,
  type ProjectPatch,
  type ResourcePatch,
  type Store,
} from './store.js';

type Row<T extends keyof Database> = Selectable<Database[T]>;

const toInstance = (r: Row<'instances'>): Instance => ({ id: r.id, name: r.name, createdAt: r.created_at });
const toResource = (r: Row<'resources'>): Resource => ({
  id: r.id,
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
/** A pool setting as stored: JSON, or null when unset (an empty pool is no pool). */
const jsonOrNull = (v: object | null | undefined): string | null =>
  v === null || v === undefined || (Array.isArray(v) && v.length === 0) ? null : JSON.stringify(v);
const toDeployment = (r: Row<'deployments'>): Deployment => ({
  id: r.id,
  resourceId: r.resource_id,
  name: r.name,
  provider: r.provider as ProviderName,
  upstreamUrl: r.upstream_url,
  upstreamUrlSealed: r.upstream_url_sealed ?? null,
  upstreamModel: r.upstream_model,
  upstreamApiKeySealed: r.upstream_api_key_sealed,
  apiVersion: r.api_version,
  defaultCompletionReservation: num(r.default_completion_reservation),
  options: JSON.parse(r.options) as Record<string, unknown>,
  ...(r.backends ? { backends: JSON.parse(r.backends) as Backend[] } : {}),
  ...(r.retry ? { retry: JSON.parse(r.retry) as RetryPolicy } : {}),
  ...(r.circuit_breaker ? { circuitBreaker: JSON.parse(r.circuit_breaker) as CircuitBreakerPolicy } : {}),
  ...(r.pricing ? { pricing: JSON.parse(r.pricing) as Pricing } : {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toProject = (r: Row<'projects'>): Project => ({
  id: r.id,
  resourceId: r.resource_id,
  name: r.name,
  gatewayStatus: r.gateway_status as ProjectGatewayStatus,
  primaryKey: { hash: r.primary_key_hash, hint: r.primary_key_hint },
  secondaryKey: { hash: r.secondary_key_hash, hint: r.secondary_key_hint },
  createdAt: r.created_at,
});
const toGateway = (r: Row<'gateways'>): Gateway => ({
  id: r.id,
  name: r.name,
  resourceId: r.resource_id,
  instanceId: r.instance_id,
  status: r.status as GatewayStatus,
  logContent: Number(r.log_content) === 1,
  defaultProjectLimit:
    r.default_tokens_per_minute === null && r.default_token_quota === null
      ? null
      : {
          tokensPerMinute: num(r.default_tokens_per_minute),
          tokenQuota: num(r.default_token_quota),
          quotaPeriod: r.default_quota_period as QuotaPeriod | null,
        },
  corsOrigins: JSON.parse(r.cors_origins) as string[],
  createdAt: r.created_at,
});

/** The columns of a gateway's default project limit (all null: none). */
const defaultLimitColumns = (d: Gateway['defaultProjectLimit']) => ({
  default_tokens_per_minute: d?.tokensPerMinute ?? null,
  default_token_quota: d?.tokenQuota ?? null,
  default_quota_period: d?.quotaPeriod ?? null,
});
const toLimit = (r: Row<'limits'>): Limit => ({
  id: r.id,
  gatewayId: r.gateway_id,
  projectId: r.project_id,
  deploymentId: r.deployment_id,
  tokensPerMinute: num(r.tokens_per_minute),
  tokenQuota: num(r.token_quota),
  quotaPeriod: r.quota_period as QuotaPeriod | null,
  ...(r.budget_micros == null
    ? {}
    : { budget: { micros: Number(r.budget_micros), currency: r.budget_currency ?? '', period: r.budget_period as QuotaPeriod } }),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toAdminToken = (r: Row<'admin_tokens'>): AdminToken => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  resources: r.resources === null ? null : (JSON.parse(r.resources) as string[]),
  hash: r.token_hash,
  hint: r.token_hint,
  createdAt: r.created_at,
});
const toAudit = (r: Row<'audit_log'>): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  action: r.action,
  target: r.target,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  ...(r.previous === null ? {} : { previous: JSON.parse(r.previous) as Record<string, unknown> }),
});

/** The PostgreSQL channel on which bumpConfigVersion announces each new config version. */
export const PG_CONFIG_CHANNEL = 'tollgate_config';

/** bigint columns come back as strings from some drivers (pg); counts here fit in a double. */
function num(value: number | string | bigint | null): number | null {
  return value === null ? null : Number(value);
}

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

/** The store on any Kysely dialect: SQLite (embedded default) or PostgreSQL (cluster). */
export class KyselyStore implements Store {
  readonly usage: UsageStore;
  readonly agents: AgentStore;
  readonly mcp: McpStore;

  constructor(
    private readonly db: Kysely<Database> | Transaction<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly onClose: () => Promise<void> = async () => {},
    usage?: UsageStore,
  ) {
    this.usage = usage ?? new KyselyUsageStore(db as Kysely<Database>);
    this.agents = new KyselyAgentStore(db);
    this.mcp = new KyselyMcpStore(db);
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String((error as Error | undefined)?.message ?? error)}`);
    }
  }

  async close(): Promise<void> {
    await this.onClose();
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<Database>).transaction().execute((trx) => fn(new KyselyStore(trx, this.dialect)));
  }

  // Instances
  async insertInstance(i: Instance): Promise<void> {
    await guardUnique(this.db.insertInto('instances').values({ id: i.id, name: i.name, created_at: i.createdAt }).execute());
  }
  async listInstances(): Promise<Instance[]> {
    return (await this.db.selectFrom('instances').selectAll().orderBy('name').execute()).map(toInstance);
  }
  async findInstance(name: string): Promise<Instance | undefined> {
    const row = await this.db.selectFrom('instances').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toInstance(row);
  }

  // Resources
  async insertResource(r: Resource): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('resources')
        .values({ id: r.id, name: r.name, description: r.description, created_at: r.createdAt, updated_at: r.updatedAt })
        .execute(),
    );
  }
  async listResources(): Promise<Resource[]> {
    return (await this.db.selectFrom('resources').selectAll().orderBy('name').execute()).map(toResource);
  }
  async findResource(name: string): Promise<Resource | undefined> {
    const row = await this.db.selectFrom('resources').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toResource(row);
  }
  async updateResource(id: string, patch: ResourcePatch): Promise<void> {
    await this.db
      .updateTable('resources')
      .set({ description: patch.description, updated_at: patch.updatedAt })
      .where('id', '=', id)
      .execute();
  }
  async deleteResource(id: string): Promise<void> {
    await this.db.deleteFrom('resources').where('id', '=', id).execute();
  }

  // Deployments
  async insertDeployment(d: Deployment): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('deployments')
        .values({
          id: d.id,
          resource_id: d.resourceId,
          name: d.name,
          provider: d.provider,
          upstream_url: d.upstreamUrl,
          upstream_url_sealed: d.upstreamUrlSealed,
          upstream_model: d.upstreamModel,
          upstream_api_key_sealed: d.upstreamApiKeySealed,
          api_version: d.apiVersion,
          default_completion_reservation: d.defaultCompletionReservation,
          options: JSON.stringify(d.options),
          backends: jsonOrNull(d.backends),
          retry: jsonOrNull(d.retry),
          circuit_breaker: jsonOrNull(d.circuitBreaker),
          pricing: jsonOrNull(d.pricing),
          created_at: d.createdAt,
          updated_at: d.updatedAt,
        })
        .execute(),
    );
  }
  async listDeployments(resourceId?: string): Promise<Deployment[]> {
    let q = this.db.selectFrom('deployments').selectAll();
    if (resourceId !== undefined) q = q.where('resource_id', '=', resourceId);
    return (await q.orderBy('name').execute()).map(toDeployment);
  }
  async findDeployment(resourceId: string, name: string): Promise<Deployment | undefined> {
    const row = await this.db
      .selectFrom('deployments')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toDeployment(row);
  }
  async updateDeployment(id: string, p: DeploymentPatch): Promise<void> {
    await this.db
      .updateTable('deployments')
      .set({
        provider: p.provider,
        upstream_url: p.upstreamUrl,
        upstream_url_sealed: p.upstreamUrlSealed,
        upstream_model: p.upstreamModel,
        upstream_api_key_sealed: p.upstreamApiKeySealed,
        api_version: p.apiVersion,
        default_completion_reservation: p.defaultCompletionReservation,
        options: p.options === undefined ? undefined : JSON.stringify(p.options),
        backends: p.backends === undefined ? undefined : jsonOrNull(p.backends),
        retry: p.retry === undefined ? undefined : jsonOrNull(p.retry),
        circuit_breaker: p.circuitBreaker === undefined ? undefined : jsonOrNull(p.circuitBreaker),
        pricing: p.pricing === undefined ? undefined : jsonOrNull(p.pricing),
        updated_at: p.updatedAt,
      })
      .where('id', '=', id)
      .execute();
  }
  async deleteDeployment(id: string): Promise<void> {
    await this.db.deleteFrom('deployments').where('id', '=', id).execute();
  }

  // Projects
  async insertProject(p: Project): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('projects')
        .values({
          id: p.id,
          resource_id: p.resourceId,
          name: p.name,
          gateway_status: p.gatewayStatus,
          primary_key_hash: p.primaryKey.hash,
          primary_key_hint: p.primaryKey.hint,
          secondary_key_hash: p.secondaryKey.hash,
          secondary_key_hint: p.secondaryKey.hint,
          created_at: p.createdAt,
        })
        .execute(),
    );
  }
  async listProjects(resourceId?: string): Promise<Project[]> {
    let q = this.db.selectFrom('projects').selectAll();
    if (resourceId !== undefined) q = q.where('resource_id', '=', resourceId);
    return (await q.orderBy('name').execute()).map(toProject);
  }
  async findProject(resourceId: string, name: string): Promise<Project | undefined> {
    const row = await this.db
      .selectFrom('projects')
      .selectAll()
      .where('resource_id', '=', resourceId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toProject(row);
  }
  async updateProject(id: string, p: ProjectPatch): Promise<void> {
    await guardUnique(
      this.db
        .updateTable('projects')
        .set({
          gateway_status: p.gatewayStatus,
          primary_key_hash: p.primaryKey?.hash,
          primary_key_hint: p.primaryKey?.hint,
          secondary_key_hash: p.secondaryKey?.hash,
          secondary_key_hint: p.secondaryKey?.hint,
        })
        .where('id', '=', id)
        .execute(),
    );
  }
  async deleteProject(id: string): Promise<void> {
    await this.db.deleteFrom('projects').where('id', '=', id).execute();
  }

  // Gateways
  async insertGateway(g: Gateway): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('gateways')
        .values({
          id: g.id,
          name: g.name,
          resource_id: g.resourceId,
          instance_id: g.instanceId,
          status: g.status,
          log_content: g.logContent ? 1 : 0,
          ...defaultLimitColumns(g.defaultProjectLimit),
          cors_origins: JSON.stringify(g.corsOrigins),
          created_at: g.createdAt,
        })
        .execute(),
    );
  }
  async listGateways(): Promise<Gateway[]> {
    return (await this.db.selectFrom('gateways').selectAll().orderBy('name').execute()).map(toGateway);
  }
  async findGateway(name: string): Promise<Gateway | undefined> {
    const row = await this.db.selectFrom('gateways').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toGateway(row);
  }
  async findGatewayByResource(resourceId: string): Promise<Gateway | undefined> {
    const row = await this.db.selectFrom('gateways').selectAll().where('resource_id', '=', resourceId).executeTakeFirst();
    return row && toGateway(row);
  }
  async findGatewayByInstance(instanceId: string): Promise<Gateway | undefined> {
    const row = await this.db.selectFrom('gateways').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
    return row && toGateway(row);
  }
  async setGatewayStatus(id: string, status: GatewayStatus): Promise<void> {
    await this.db.updateTable('gateways').set({ status }).where('id', '=', id).execute();
  }
  async updateGateway(id: string, p: GatewayPatch): Promise<void> {
    await this.db
      .updateTable('gateways')
      .set({
        log_content: p.logContent === undefined ? undefined : p.logContent ? 1 : 0,
        ...(p.defaultProjectLimit === undefined ? {} : defaultLimitColumns(p.defaultProjectLimit)),
        cors_origins: p.corsOrigins === undefined ? undefined : JSON.stringify(p.corsOrigins),
      })
      .where('id', '=', id)
      .execute();
  }
  async deleteInstance(id: string): Promise<void> {
    await this.db.deleteFrom('instances').where('id', '=', id).execute();
  }
  async deleteGateway(id: string): Promise<void> {
    // Archived in the same statement sequence (a change runs in one transaction): never a gap.
    await this.db
      .insertInto('archived_gateways')
      .columns(['id', 'name', 'resource_name', 'instance_name', 'created_at', 'deleted_at'])
      .expression((eb) =>
        eb
          .selectFrom('gateways as g')
          .leftJoin('resources as r', 'r.id', 'g.resource_id')
          .leftJoin('instances as i', 'i.id', 'g.instance_id')
          .select([
            'g.id',
            'g.name',
            sql<string>`coalesce(r.name, '')`.as('resource_name'),
            sql<string>`coalesce(i.name, '')`.as('instance_name'),
            'g.created_at',
            sql<string>`${new Date().toISOString()}`.as('deleted_at'),
          ])
          .where('g.id', '=', id),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await this.db.deleteFrom('gateways').where('id', '=', id).execute();
  }
  async listArchivedGateways(): Promise<ArchivedGateway[]> {
    return (await this.db.selectFrom('archived_gateways').selectAll().orderBy('deleted_at', 'desc').execute()).map(toArchivedGateway);
  }
  async findArchivedGateway(id: string): Promise<ArchivedGateway | undefined> {
    const row = await this.db.selectFrom('archived_gateways').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toArchivedGateway(row);
  }

  // Limits
  async insertLimit(l: Limit): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('limits')
        .values({
          id: l.id,
          gateway_id: l.gatewayId,
          project_id: l.projectId,
          deployment_id: l.deploymentId,
          scope_key: l.deploymentId ?? '',
          tokens_per_minute: l.tokensPerMinute,
          token_quota: l.tokenQuota,
          quota_period: l.quotaPeriod,
          budget_micros: l.budget?.micros ?? null,
          budget_currency: l.budget?.currency ?? null,
          budget_period: l.budget?.period ?? null,
          created_at: l.createdAt,
          updated_at: l.updatedAt,
        })
        .execute(),
    );
  }
  async listLimits(gatewayId?: string): Promise<Limit[]> {
    let q = this.db.selectFrom('limits').selectAll();
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.orderBy('created_at').orderBy('id').execute()).map(toLimit);
  }
  async findLimit(gatewayId: string, id: string): Promise<Limit | undefined> {
    const row = await this.db
      .selectFrom('limits')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toLimit(row);
  }
  async findLimitByScope(gatewayId: string, projectId: string, deploymentId: string | null): Promise<Limit | undefined> {
    const row = await this.db
      .selectFrom('limits')
      .selectAll()
      .where('gateway_id', '=', gatewayId)
      .where('project_id', '=', projectId)
      .where('scope_key', '=', deploymentId ?? '')
      .executeTakeFirst();
    return row && toLimit(row);
  }
  async updateLimit(id: string, p: LimitPatch): Promise<void> {
    await this.db
      .updateTable('limits')
      .set({
        tokens_per_minute: p.tokensPerMinute,
        token_quota: p.tokenQuota,
        quota_period: p.quotaPeriod,
        ...(p.budget === undefined
          ? {}
          : { budget_micros: p.budget?.micros ?? null, budget_currency: p.budget?.currency ?? null, budget_period: p.budget?.period ?? null }),
        updated_at: p.updatedAt,
      })
      .where('id', '=', id)
      .execute();
  }
  async deleteLimit(id: string): Promise<void> {
    await this.db.deleteFrom('limits').where('id', '=', id).execute();
  }

  // Admin tokens
  async insertAdminToken(t: AdminToken): Promise<void> {
    await guardUnique(
      this.db
        .insertInto('admin_tokens')
        .values({
          id: t.id,
          name: t.name,
          role: t.role,
          resources: t.resources === null ? null : JSON.stringify(t.resources),
          token_hash: t.hash,
          token_hint: t.hint,
          created_at: t.createdAt,
        })
        .execute(),
    );
  }
  async listAdminTokens(): Promise<AdminToken[]> {
    return (await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').execute()).map(toAdminToken);
  }
  async findAdminTokenByHash(hash: string): Promise<AdminToken | undefined> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return row && toAdminToken(row);
  }
  async deleteAdminToken(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('admin_tokens').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // Audit
  async appendAudit(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e.detail === null ? null : JSON.stringify(e.detail),
        previous: e.previous == null ? null : JSON.stringify(e.previous),
      })
      .execute();
  }
  async listAudit(options: { limit: number; before?: string }): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (options.before !== undefined) q = q.where('id', '<', options.before);
    return (await q.orderBy('id', 'desc').limit(options.limit).execute()).map(toAudit);
  }

  // Config version
  async bumpConfigVersion(): Promise<number> {
    if (this.dialect === 'postgres') return this.transaction((tx) => (tx as KyselyStore).bumpAndNotify());
    await this.db
      .updateTable('config_version')
      .set({ version: sql`version + 1` })
      .where('id', '=', 1)
      .execute();
    return this.configVersion();
  }
  /**
   * PostgreSQL: one statement increments and answers the version (no read that could see a
   * concurrent bump), and the notification is queued in the same transaction: PostgreSQL delivers
   * it to listeners (see watchConfig) only when that transaction commits, never on rollback.
   */
  private async bumpAndNotify(): Promise<number> {
    const row = await this.db
      .updateTable('config_version')
      .set({ version: sql`version + 1` })
      .where('id', '=', 1)
      .returning('version')
      .executeTakeFirstOrThrow();
    const version = Number(row.version);
    await sql`select pg_notify(${PG_CONFIG_CHANNEL}, ${String(version)})`.execute(this.db);
    return version;
  }
  async configVersion(): Promise<number> {
    const row = await this.db.selectFrom('config_version').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(row.version);
  }

  async upsertNode(n: NodeRecord): Promise<void> {
    await this.db
      .insertInto('nodes')
      .values({
        id: n.id,
        instance: n.instance,
        address: n.address,
        version: n.version,
        config_version: n.configVersion,
        started_at: n.startedAt,
        heartbeat_at: n.heartbeatAt,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: n.heartbeatAt, config_version: n.configVersion, address: n.address }))
      .execute();
  }
  async listNodes(): Promise<NodeRecord[]> {
    const rows = await this.db.selectFrom('nodes').selectAll().orderBy('started_at').execute();
    return rows.map((r) => ({
      id: r.id,
      instance: r.instance,
      address: r.address,
      version: r.version,
      configVersion: Number(r.config_version),
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
    }));
  }
  async deleteNode(id: string): Promise<void> {
    await this.db.deleteFrom('nodes').where('id', '=', id).execute();
  }
  async deleteStaleNodes(heartbeatBefore: string): Promise<number> {
    const result = await this.db.deleteFrom('nodes').where('heartbeat_at', '<', heartbeatBefore).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async saveLimiterStates(rows: ReadonlyArray<{ limitId: string; state: string }>, ledgerThrough: string | null = null): Promise<void> {
    if (rows.length === 0 && ledgerThrough === null) return;
    const at = new Date().toISOString();
    // Upserts lock rows in the order given: one order for every writer, or two PostgreSQL nodes
    // checkpointing the same limits in different orders can deadlock. (Same result on SQLite.)
    const sorted = [...rows].sort((a, b) => (a.limitId < b.limitId ? -1 : a.limitId > b.limitId ? 1 : 0));
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
      for (let i = 0; i < sorted.length; i += 500) {
        await db
          .insertInto('limiter_state')
          .values(sorted.slice(i, i + 500).map((r) => ({ limit_id: r.limitId, state: r.state, updated_at: at })))
          .onConflict((oc) => oc.column('limit_id').doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), updated_at: eb.ref('excluded.updated_at') })))
          .execute();
      }
      // Counters of deleted limits are dropped with them. A gateway default's counters (one per
      // project, see src/domain/default-limit.ts) have no row: they go when the default or the
      // project goes.
      if (sorted.length > 0) {
        await db
          .deleteFrom('limiter_state')
          .where('limit_id', 'not in', db.selectFrom('limits').select('id'))
          // MCP call limits (docs/mcp.md) count on the same limiter: kept while they exist.
          .where('limit_id', 'not in', db.selectFrom('mcp_limits').select('id'))
          // A limit's budget counts under its own id (budgetRuleId): kept with its limit.
          .where('limit_id', 'not in', db.selectFrom('limits').select(sql<string>`id || ${BUDGET_RULE_SUFFIX}`.as('id')))
          .where('limit_id', 'not in', db
            .selectFrom('gateways')
            .innerJoin('projects', 'projects.resource_id', 'gateways.resource_id')
            .where((eb) => eb.or([eb('gateways.default_tokens_per_minute', 'is not', null), eb('gateways.default_token_quota', 'is not', null)]))
            .select(sql<string>`${DEFAULT_LIMIT_ID_PREFIX} || gateways.id || '_' || projects.id`.as('id')))
          // Agent limits (docs/agents.md) count on the same limiter: kept while they exist.
          .where('limit_id', 'not in', db.selectFrom('agent_limits').select('id'))
          .execute();
      }
      if (ledgerThrough !== null) {
        await db
          .insertInto('limiter_checkpoint')
          .values({ id: 1, ledger_through: ledgerThrough, updated_at: at })
          .onConflict((oc) => oc.column('id').doUpdateSet({ ledger_through: ledgerThrough, updated_at: at }))
          .execute();
      }
    });
  }

  async loadLimiterStates(): Promise<LimiterCheckpointRecord> {
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db;
      const rows = await db.selectFrom('limiter_state').select(['limit_id', 'state']).execute();
      const mark = await db.selectFrom('limiter_checkpoint').select('ledger_through').where('id', '=', 1).executeTakeFirst();
      return { rows: rows.map((r) => ({ limitId: r.limit_id, state: r.state })), ledgerThrough: mark?.ledger_through ?? null };
    });
  }

  async loadConfig(): Promise<ConfigRecords> {
    return this.transaction(async (tx) => ({
      version: await tx.configVersion(),
      instances: await tx.listInstances(),
      resources: await tx.listResources(),
      deployments: await tx.listDeployments(),
      projects: await tx.listProjects(),
      gateways: await tx.listGateways(),
      limits: await tx.listLimits(),
      agents: await tx.agents.loadRecords(),
      mcp: { servers: await tx.mcp.listServers(), grants: await tx.mcp.listGrants(), limits: await tx.mcp.listLimits() },
    }));
  }
}

function toArchivedGateway(r: Selectable<Database['archived_gateways']>): ArchivedGateway {
  return { id: r.id, name: r.name, resourceName: r.resource_name, instanceName: r.instance_name, createdAt: r.created_at, deletedAt: r.deleted_at };
}
