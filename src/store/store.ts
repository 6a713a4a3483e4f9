import type {
  AdminToken,
  ArchivedGateway,
  AuditEntry,
  Deployment,
  Gateway,
  GatewayStatus,
  Instance,
  Limit,
  NodeRecord,
  Project,
  Resource,
} from '../domain/model.js';
import type { AgentRecords } from '../agents/agent-model.js';
import type { UsageStore } from '../usage/ledger.js';
import type { AgentStore } from './agent-store.js';
import type { McpGrant, McpLimit, McpServer } from '../domain/mcp.js';
import type { McpStore } from './mcp-store.js';

/** Every configuration record at one version: what a config snapshot is built from. */
export interface ConfigRecords {
  version: number;
  instances: Instance[];
  resources: Resource[];
  deployments: Deployment[];
  projects: Project[];
  gateways: Gateway[];
  limits: Limit[];
  /** Custom agents, their grants and limits (absent: none). */
  agents?: AgentRecords;
  /** MCP servers, grants and call limits (absent: none). */
  mcp?: { servers: McpServer[]; grants: McpGrant[]; limits: McpLimit[] };
}

export type ResourcePatch = Partial<Pick<Resource, 'description' | 'updatedAt'>>;
export type DeploymentPatch = Partial<
  Pick<
    Deployment,
    | 'provider'
    | 'upstreamUrl'
    | 'upstreamUrlSealed'
    | 'upstreamModel'
    | 'upstreamApiKeySealed'
    | 'apiVersion'
    | 'defaultCompletionReservation'
    | 'options'
    | 'backends'
    | 'retry'
    | 'circuitBreaker'
    | 'pricing'
    | 'updatedAt'
  >
>;
/** A gateway's settings; its name, resource and instance never change. */
export type GatewayPatch = Partial<Pick<Gateway, 'logContent' | 'defaultProjectLimit' | 'corsOrigins'>>;
export type ProjectPatch = Partial<Pick<Project, 'gatewayStatus' | 'primaryKey' | 'secondaryKey'>>;
export type LimitPatch = Partial<Pick<Limit, 'tokensPerMinute' | 'tokenQuota' | 'quotaPeriod' | 'budget' | 'updatedAt'>>;

/**
 * Persistence for the control plane. Business rules live in the admin service; the store only
 * reads and writes records. Uniqueness is also enforced by the database, so a race between two
 * admins surfaces as a UniqueViolationError rather than as duplicate rows.
 *
 * The data plane never calls the store on the request path: it works from config snapshots.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** The request ledger and usage rollups. */
  readonly usage: UsageStore;
  /** Custom agents, their grants and limits, and the agent request ledger. */
  readonly agents: AgentStore;
  /** MCP servers, grants, call limits and the MCP call ledger (bound to the same transaction). */
  readonly mcp: McpStore;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Runs fn atomically; the store passed to fn is bound to the transaction. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  insertInstance(instance: Instance): Promise<void>;
  listInstances(): Promise<Instance[]>;
  findInstance(name: string): Promise<Instance | undefined>;

  insertResource(resource: Resource): Promise<void>;
  listResources(): Promise<Resource[]>;
  findResource(name: string): Promise<Resource | undefined>;
  updateResource(id: string, patch: ResourcePatch): Promise<void>;
  /** Deletes the resource with its deployments, projects and their limits. */
  deleteResource(id: string): Promise<void>;

  insertDeployment(deployment: Deployment): Promise<void>;
  listDeployments(resourceId?: string): Promise<Deployment[]>;
  findDeployment(resourceId: string, name: string): Promise<Deployment | undefined>;
  updateDeployment(id: string, patch: DeploymentPatch): Promise<void>;
  deleteDeployment(id: string): Promise<void>;

  insertProject(project: Project): Promise<void>;
  listProjects(resourceId?: string): Promise<Project[]>;
  findProject(resourceId: string, name: string): Promise<Project | undefined>;
  updateProject(id: string, patch: ProjectPatch): Promise<void>;
  deleteProject(id: string): Promise<void>;

  insertGateway(gateway: Gateway): Promise<void>;
  listGateways(): Promise<Gateway[]>;
  findGateway(name: string): Promise<Gateway | undefined>;
  findGatewayByResource(resourceId: string): Promise<Gateway | undefined>;
  findGatewayByInstance(instanceId: string): Promise<Gateway | undefined>;
  setGatewayStatus(id: string, status: GatewayStatus): Promise<void>;
  updateGateway(id: string, patch: GatewayPatch): Promise<void>;
  /** Deletes the gateway and archives it (archived_gateways): its ledger rows stay under its id. */
  deleteGateway(id: string): Promise<void>;
  /** Removes an instance; the caller checks that it backs no gateway. */
  deleteInstance(id: string): Promise<void>;
  /** Deleted gateways, most recently deleted first. */
  listArchivedGateways(): Promise<ArchivedGateway[]>;
  findArchivedGateway(id: string): Promise<ArchivedGateway | undefined>;

  insertLimit(limit: Limit): Promise<void>;
  listLimits(gatewayId?: string): Promise<Limit[]>;
  findLimit(gatewayId: string, id: string): Promise<Limit | undefined>;
  findLimitByScope(gatewayId: string, projectId: string, deploymentId: string | null): Promise<Limit | undefined>;
  updateLimit(id: string, patch: LimitPatch): Promise<void>;
  deleteLimit(id: string): Promise<void>;

  insertAdminToken(token: AdminToken): Promise<void>;
  listAdminTokens(): Promise<AdminToken[]>;
  findAdminTokenByHash(hash: string): Promise<AdminToken | undefined>;
  deleteAdminToken(id: string): Promise<boolean>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; `before` is an entry id from a previous page. */
  listAudit(options: { limit: number; before?: string }): Promise<AuditEntry[]>;

  /** Increments the config version (within the caller's transaction) and returns the new value. */
  bumpConfigVersion(): Promise<number>;
  configVersion(): Promise<number>;
  /**
   * Optional push of config changes made by any node: calls onChange with each new version once
   * its transaction commits (PostgreSQL: LISTEN/NOTIFY). Resolves when listening; answers the
   * function that stops. Not implemented on SQLite, where the periodic version poll covers it.
   * Delivery is best effort (a dropped connection loses notifications until it reconnects), so
   * keep the poll as the safety net.
   */
  watchConfig?(onChange: (version: number) => void): Promise<() => Promise<void>>;
  /** Inserts or refreshes a node's record (its heartbeat). */
  upsertNode(node: NodeRecord): Promise<void>;
  listNodes(): Promise<NodeRecord[]>;
  deleteNode(id: string): Promise<void>;
  /** Forgets nodes silent since before `heartbeatBefore` (ISO time). */
  deleteStaleNodes(heartbeatBefore: string): Promise<number>;

  /**
   * Upserts checkpoints of limiter counters (JSON text per limit id) and, in the same transaction,
   * where they stand in the ledger (`ledgerThrough`: they hold every ledger row up to that id).
   */
  saveLimiterStates(rows: ReadonlyArray<{ limitId: string; state: string }>, ledgerThrough?: string | null): Promise<void>;
  loadLimiterStates(): Promise<LimiterCheckpointRecord>;

  /** Every config record at one consistent version. */
  loadConfig(): Promise<ConfigRecords>;
}

/** The limiter's checkpointed counters and where they stand in the ledger (null: unknown). */
export interface LimiterCheckpointRecord {
  rows: Array<{ limitId: string; state: string }>;
  ledgerThrough: string | null;
}

export class UniqueViolationError extends Error {
  constructor(cause: unknown) {
    super('unique constraint violated', { cause });
    this.name = 'UniqueViolationError';
  }
}
