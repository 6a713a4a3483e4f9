import type { QuotaPeriod } from '../domain/model.js';
import type { Outcome } from './api-types.js';

/** The admin API's JSON for custom agents (docs/agents.md). Types only, like api-types.ts. */

export type AgentProtocolName = 'http' | 'a2a';
/** `running`: its last health check succeeded; `unknown`: it did not (or none ran yet on this node); `blocked`: an admin blocked it. */
export type AgentStatus = 'running' | 'unknown' | 'blocked';

export interface AgentView {
  name: string;
  /** The owning project. */
  project: string;
  url: string;
  protocol: AgentProtocolName;
  /** A2A: where the agent's card is read; null for HTTP agents. */
  agentCardUrl: string | null;
  otelAgentId: string | null;
  adminPortalUrl: string | null;
  description: string | null;
  /** Other projects granted its use. */
  projects: string[];
  /** What clients call instead of `url`: `{gateway}/agents/{name}`. */
  proxyUrl: string;
  status: AgentStatus;
  createdAt: string;
  updatedAt: string;
}

export interface AgentLimitView {
  id: string;
  agent: string;
  project: string;
  requestsPerMinute: number | null;
  requestQuota: number | null;
  quotaPeriod: QuotaPeriod | null;
  createdAt: string;
  updatedAt: string;
}

/** One proxied agent request (`GET …/logs?kind=agent`). */
export interface AgentLogView {
  id: string;
  at: string;
  requestId: string;
  agent: string;
  project: string;
  /** The HTTP method. */
  method: string;
  /** The JSON-RPC method of an A2A call (`message/send`, `SendStreamingMessage`, …). */
  rpcMethod: string | null;
  status: number;
  outcome: Outcome;
  errorCode: string | null;
  latencyMs: number;
  streamed: boolean;
  otelAgentId: string | null;
}

export interface AgentLogPage {
  items: AgentLogView[];
  nextCursor: string | null;
}
