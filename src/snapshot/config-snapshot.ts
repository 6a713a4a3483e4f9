import type { ProviderName, QuotaPeriod } from '../domain/model.js';

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
}

export interface LimitRuntime {
  readonly id: string;
  readonly gatewayName: string;
  readonly projectName: string;
  /** null: the limit caps the project's use of all deployments together. */
  readonly deploymentName: string | null;
  readonly tokensPerMinute: number | null;
  readonly tokenQuota: number | null;
  readonly quotaPeriod: QuotaPeriod | null;
  /** Set on the limit a gateway's default project limit makes for a project without its own. */
  readonly gatewayDefault?: true;
}

export const EMPTY_SNAPSHOT: ConfigSnapshot = Object.freeze({
  version: 0,
  builtAt: 0,
  projectsByKeyHash: new Map(),
  gateways: new Map(),
  corsOrigins: new Set<string>(),
});
