import type { Agent, AgentGrant, AgentLimit, AgentRecords, AgentRequestQuery, AgentRequestRecord, AgentUse } from '../agents/agent-model.js';

export type AgentPatch = Partial<Pick<Agent, 'url' | 'protocol' | 'agentCardUrl' | 'otelAgentId' | 'adminPortalUrl' | 'description' | 'blocked' | 'updatedAt'>>;
export type AgentLimitPatch = Partial<Pick<AgentLimit, 'requestsPerMinute' | 'requestQuota' | 'quotaPeriod' | 'updatedAt'>>;

/** Agents, their grants and limits (configuration) and the agent request ledger. */
export interface AgentStore {
  insertAgent(agent: Agent): Promise<void>;
  listAgents(gatewayId?: string): Promise<Agent[]>;
  findAgent(gatewayId: string, name: string): Promise<Agent | undefined>;
  updateAgent(id: string, patch: AgentPatch): Promise<void>;
  deleteAgent(id: string): Promise<void>;

  putGrant(grant: AgentGrant): Promise<void>;
  deleteGrant(agentId: string, projectId: string): Promise<boolean>;
  listGrants(agentId?: string): Promise<AgentGrant[]>;

  insertLimit(limit: AgentLimit): Promise<void>;
  listLimits(gatewayId?: string): Promise<AgentLimit[]>;
  findLimit(gatewayId: string, id: string): Promise<AgentLimit | undefined>;
  findLimitByScope(agentId: string, projectId: string): Promise<AgentLimit | undefined>;
  updateLimit(id: string, patch: AgentLimitPatch): Promise<void>;
  deleteLimit(id: string): Promise<void>;

  /** Every agent record, for the config snapshot (called inside loadConfig's transaction). */
  loadRecords(): Promise<AgentRecords>;

  insertRequests(rows: readonly AgentRequestRecord[]): Promise<void>;
  /** Counted requests since `fromMs` (by when they were logged), per gateway, agent and project: quotas re-seeded. */
  countedSince(fromMs: number): Promise<Array<AgentUse & { count: number }>>;
  /** Each counted request since `fromMs`: per-minute windows re-seeded. */
  countedRecent(fromMs: number): Promise<Array<AgentUse & { atMs: number }>>;
  /** Newest first. */
  listRequests(query: AgentRequestQuery): Promise<AgentRequestRecord[]>;
}
