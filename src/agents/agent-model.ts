import type { QuotaPeriod } from '../domain/model.js';
import type { Outcome } from '../usage/ledger.js';

/** How the gateway speaks to an agent: plain HTTP, or A2A (card rewritten, JSON-RPC methods named). */
export type AgentProtocol = 'http' | 'a2a';
export const AGENT_PROTOCOLS = ['http', 'a2a'] as const satisfies readonly AgentProtocol[];

/** Where an A2A card is, relative to the agent's URL, unless the registration names another. */
export const DEFAULT_CARD_PATH = '/.well-known/agent-card.json';

/** A custom agent registered on a gateway for its owning project. */
export interface Agent {
  id: string;
  gatewayId: string;
  /** The owning project: it may always use the agent. */
  projectId: string;
  name: string;
  url: string;
  protocol: AgentProtocol;
  /** A2A: where the agent's card is; null for HTTP agents. */
  agentCardUrl: string | null;
  otelAgentId: string | null;
  adminPortalUrl: string | null;
  description: string | null;
  blocked: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Another project allowed to use an agent. */
export interface AgentGrant {
  agentId: string;
  projectId: string;
  createdAt: string;
}

/** Requests per minute and a request quota per period, for one project's use of one agent. */
export interface AgentLimit {
  id: string;
  gatewayId: string;
  agentId: string;
  projectId: string;
  requestsPerMinute: number | null;
  requestQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  createdAt: string;
  updatedAt: string;
}

/** Every agent record at one config version (part of ConfigRecords). */
export interface AgentRecords {
  agents: Agent[];
  grants: AgentGrant[];
  limits: AgentLimit[];
}

/** One proxied agent request, as the agent ledger keeps it. */
export interface AgentRequestRecord {
  id: string;
  atMs: number;
  requestId: string;
  /** The gateway's id (a deleted gateway's name may be reused: its requests stay its own). */
  gateway: string;
  agent: string;
  project: string;
  /** The HTTP method. */
  method: string;
  /** The JSON-RPC method of an A2A call (`message/send`, `SendStreamingMessage`, …), when there is one. */
  rpcMethod: string | null;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  latencyMs: number;
  /** The answer was an event stream. */
  streamed: boolean;
  otelAgentId: string | null;
  /** It reached the agent: it counts against the project's limits on the agent (a card fetch or a refusal does not). */
  counted: boolean;
}

/** Counted agent requests of one project on one agent. */
export interface AgentUse {
  gateway: string;
  agent: string;
  project: string;
}

export interface AgentRequestQuery {
  gateway: string;
  limit: number;
  agent?: string;
  project?: string;
  outcome?: Outcome;
  fromMs?: number;
  toMs?: number;
  /** An id from a previous page: rows older than it. */
  before?: string;
}
