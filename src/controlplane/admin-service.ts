import type { ProviderRegistry } from '../providers/registry.js';
import type { SecretBox } from '../security/secret-box.js';
import type { Store } from '../store/store.js';
import { AgentLimitAdmin } from './admin/agent-limits.js';
import { AgentAdmin } from './admin/agents.js';
import { ChangeStep } from './admin/change.js';
import type { AdminContext } from './admin/context.js';
import { DeploymentAdmin } from './admin/deployments.js';
import { GatewayProjectAdmin } from './admin/gateway-projects.js';
import { GatewayAdmin } from './admin/gateways.js';
import { InstanceAdmin } from './admin/instances.js';
import { LimitAdmin } from './admin/limits.js';
import { Lookups } from './admin/lookups.js';
import { McpGrantAdmin } from './admin/mcp-grants.js';
import { McpLimitAdmin } from './admin/mcp-limits.js';
import { McpServerAdmin } from './admin/mcp-servers.js';
import { ProjectAdmin } from './admin/projects.js';
import { ResourceAdmin } from './admin/resources.js';
import { AuditLog, TokenAdmin } from './admin/tokens.js';

export type { DeploymentInput, DeploymentUpdate } from './admin/deployments.js';
export type { GatewayInput, GatewayUpdate } from './admin/gateways.js';
export type { LimitInput, LimitUpdate } from './admin/limits.js';

export interface AdminServiceDeps {
  store: Store;
  secrets: SecretBox;
  providers: ProviderRegistry;
  /** Publishes the committed change to the data plane; awaited so the next request sees it. */
  onConfigChange: () => Promise<void>;
  /** The server's default completion reservation (TOLLGATE_DEFAULT_COMPLETION_RESERVATION); 1024 when not given. */
  defaultCompletionReservation?: number;
}

/**
 * The control plane's rules, one part per resource (src/controlplane/admin/): what may be created,
 * linked or deleted, by whom it was done (audit), and that every committed change reaches the data
 * plane as a new config snapshot. Every part changes things through the one ChangeStep.
 */
export class AdminService {
  readonly instances: InstanceAdmin;
  readonly resources: ResourceAdmin;
  readonly deployments: DeploymentAdmin;
  readonly projects: ProjectAdmin;
  readonly gateways: GatewayAdmin;
  readonly gatewayProjects: GatewayProjectAdmin;
  readonly limits: LimitAdmin;
  readonly tokens: TokenAdmin;
  readonly audit: AuditLog;
  readonly agents: AgentAdmin;
  readonly agentLimits: AgentLimitAdmin;
  readonly mcpServers: McpServerAdmin;
  readonly mcpGrants: McpGrantAdmin;
  readonly mcpLimits: McpLimitAdmin;

  constructor(private readonly deps: AdminServiceDeps) {
    const ctx: AdminContext = {
      store: deps.store,
      secrets: deps.secrets,
      providers: deps.providers,
      changes: new ChangeStep(deps.store, deps.onConfigChange),
      find: new Lookups(deps.store),
      defaultCompletionReservation: deps.defaultCompletionReservation ?? 1024,
    };
    this.instances = new InstanceAdmin(ctx);
    this.resources = new ResourceAdmin(ctx);
    this.deployments = new DeploymentAdmin(ctx);
    this.projects = new ProjectAdmin(ctx);
    this.gateways = new GatewayAdmin(ctx);
    this.gatewayProjects = new GatewayProjectAdmin(ctx);
    this.limits = new LimitAdmin(ctx);
    this.tokens = new TokenAdmin(ctx);
    this.audit = new AuditLog(ctx);
    this.agents = new AgentAdmin(ctx);
    this.agentLimits = new AgentLimitAdmin(ctx);
    this.mcpServers = new McpServerAdmin(ctx);
    this.mcpGrants = new McpGrantAdmin(ctx);
    this.mcpLimits = new McpLimitAdmin(ctx);
  }

  /**
   * The same rules, without publishing a snapshot per change: for a batch of changes (a config
   * apply) that publishes once at its end with publish(). Rebuilding per change made a batch's
   * cost grow with the square of its size.
   */
  unpublished(): AdminService {
    return new AdminService({ ...this.deps, onConfigChange: async () => {} });
  }

  /** Publishes what is committed to the data plane (changes publish themselves; batches call this). */
  publish(): Promise<void> {
    return this.deps.onConfigChange();
  }
}
