import type { AgentRuntime } from '../agents/agent-runtime.js';
import type { PriceRuntime } from '../accounting/pricing.js';
import type { Budget, ProviderName, QuotaPeriod } from '../domain/model.js';
import { EMPTY_MCP_INDEX, type McpIndex } from '../mcp/mcp-snapshot.js';

/**
 * The only contract between the control plane and the data plane: an immutable, versioned view of
 * the configuration, indexed for the request path (key hash → project → deployment → limits).
 * A change builds a new snapshot; the data plane swaps it in whole, between two requests.
 */
export interface ConfigSnapshot {
  readonly version: number;
  readonly builtAt: number;
  /** SHA-256 hex of a project key (primary or secondary) → the project it opens. */
  readonly projectsByKeyHash: ReadonlyMap<string, ProjectRuntime>;
  readonly gateways: ReadonlyMap<string, GatewayRuntime>;
  /**
   * Every origin some gateway served here lets call from a browser. A preflight carries no key,
   * so it can only be answered for the node; the request that follows is checked against its
   * project's gateway.
   */
  readonly corsOrigins: ReadonlySet<string>;
  /** Custom agents by gateway id, then by name (docs/agents.md); absent: none. */
  readonly agents?: ReadonlyMap<string, ReadonlyMap<string, AgentRuntime>>;
  /** MCP servers, grants and call limits (src/mcp/): what the /mcp/{server} proxy decides from; absent: none. */
  readonly mcp?: McpIndex;
}

export interface GatewayRuntime {
  readonly id: string;
  readonly name: string;
  readonly resourceName: string;
  readonly instanceName: string;
  /** Keep prompt and completion content in the request ledger. */
  readonly logContent: boolean;
  /** Browser origins allowed to call with this gateway's project keys (CORS); empty: none. */
  readonly corsOrigins: ReadonlySet<string>;
}

export interface ProjectRuntime {
  readonly id: string;
  readonly name: string;
  readonly resourceName: string;
  /** The gateway governing this project on this node; null when its resource has none served here. */
  readonly gateway: GatewayRuntime | null;
  readonly enabled: boolean;
  /** Deployments of the project's resource, by the name clients use. */
  readonly deployments: ReadonlyMap<string, DeploymentRuntime>;
  /** Limits that apply to a request to the named deployment: its own plus the project-wide ones. */
  limitsFor(deploymentName: string): readonly LimitRuntime[];
}

export interface DeploymentRuntime {
  readonly id: string;
  readonly name: string;
  readonly resourceName: string;
  readonly provider: ProviderName;
  readonly upstreamUrl: string | null;
  /** The model name sent upstream; defaults to the deployment name. */
  readonly upstreamModel: string;
  /** Decrypted upstream credential, held in memory only. */
  readonly upstreamApiKey: string | null;
  readonly apiVersion: string | null;
  readonly defaultCompletionReservation: number | null;
  readonly options: Readonly<Record<string, unknown>>;
  /** Set when the deployment has several upstreams; absent: `upstream*` above is its one upstream. */
  readonly pool?: BackendPool;
  /** Its prices (a backend's view: the backend's own, else the deployment's); null: none. */
  readonly price?: PriceRuntime | null;
  /**
   * What a budget reserves at: the price, or for a pool the dearest of its backends' prices per
   * kind of token; null when any of them has none, or they differ in currency.
   */
  readonly worstPrice?: PriceRuntime | null;
}

/** A deployment's backends and the rules that route among them (defaults already applied). */
export interface BackendPool {
  /** Ordered by priority, then as configured. */
  readonly backends: readonly BackendRuntime[];
  /** Upstream calls a request may make in all, the first included. */
  readonly attempts: number;
  /** Statuses and transport failures a request moves on to the next backend after. */
  readonly retryOn: ReadonlySet<number | string>;
  readonly breaker: BreakerPolicy;
}

export interface BackendRuntime {
  readonly name: string;
  readonly priority: number;
  readonly weight: number;
  /** The key of its breaker state: the deployment's id and the backend's name. */
  readonly key: string;
  /** The deployment as a call to this backend sees it: its provider, URL, model, key and api-version. */
  readonly deployment: DeploymentRuntime;
}

export interface BreakerPolicy {
  readonly failures: number;
  readonly intervalMs: number;
  readonly statusCodes: ReadonlySet<number>;
  readonly tripMs: number;
  readonly acceptRetryAfter: boolean;
}

export interface LimitRuntime {
  readonly id: string;
  /** The gateway's id: how the ledger files its usage. */
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly projectName: string;
  /** null: the limit caps the project's use of all deployments together. */
  readonly deploymentName: string | null;
  readonly tokensPerMinute: number | null;
  readonly tokenQuota: number | null;
  readonly quotaPeriod: QuotaPeriod | null;
  /** Set on the limit a gateway's default project limit makes for a project without its own. */
  readonly gatewayDefault?: true;
  /** Money budget rules (unit `micros`): the budget, and the id of the limit that carries it. */
  readonly unit?: 'micros';
  readonly budget?: Budget;
  readonly limitId?: string;
}

export const EMPTY_SNAPSHOT: ConfigSnapshot = Object.freeze({
  version: 0,
  builtAt: 0,
  projectsByKeyHash: new Map(),
  gateways: new Map(),
  corsOrigins: new Set<string>(),
  mcp: EMPTY_MCP_INDEX,
});
