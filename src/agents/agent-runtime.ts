import type { LimitRule } from '../limits/limiter.js';
import type { AgentProtocol, AgentRecords } from './agent-model.js';

/** The limiter's tag of every agent limit of one project on one gateway (one Redis slot per group). */
export const agentLimitTag = (gatewayId: string, projectId: string): string => `agent/${gatewayId}/${projectId}`;

/** An agent limit as the limiter knows it: requests count as tokens, one per request. */
export interface AgentLimitRule extends LimitRule {
  readonly tag: string;
  /** Whose use it counts, as the agent ledger keeps it: the gateway by id, the agent and project by name. */
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly agentName: string;
  readonly projectName: string;
}

/** A registered agent as the data plane sees it: who may use it, its limits, whether it is blocked. */
export interface AgentRuntime {
  readonly id: string;
  readonly name: string;
  readonly gatewayId: string;
  readonly url: string;
  readonly protocol: AgentProtocol;
  /** A2A: where its card is (absolute). */
  readonly agentCardUrl: string | null;
  readonly otelAgentId: string | null;
  readonly blocked: boolean;
  /** Project ids that may use it: the owner and the granted ones. */
  readonly projects: ReadonlySet<string>;
  /** The limits a request of the project must fit (one Map lookup). */
  limitsFor(projectId: string): readonly AgentLimitRule[];
}

const NONE: readonly AgentLimitRule[] = Object.freeze([]);

/**
 * The agents of every gateway served here, by gateway id, then by name. Pure: built with the rest
 * of the config snapshot, so a block or a grant reaches the request path with the next snapshot.
 */
export function buildAgentRuntimes(
  records: AgentRecords | undefined,
  /** The gateways served here: id → name. */
  servedGateways: ReadonlyMap<string, string>,
  projectNames: ReadonlyMap<string, string>,
): ReadonlyMap<string, ReadonlyMap<string, AgentRuntime>> {
  const byGateway = new Map<string, Map<string, AgentRuntime>>();
  if (!records) return byGateway;
  const grants = new Map<string, Set<string>>();
  for (const g of records.grants) {
    let set = grants.get(g.agentId);
    if (!set) grants.set(g.agentId, (set = new Set()));
    set.add(g.projectId);
  }
  const agentNames = new Map(records.agents.map((a) => [a.id, a.name]));
  const limits = new Map<string, Map<string, AgentLimitRule[]>>();
  for (const l of records.limits) {
    let byProject = limits.get(l.agentId);
    if (!byProject) limits.set(l.agentId, (byProject = new Map()));
    byProject.set(l.projectId, [
      Object.freeze({
        id: l.id,
        tag: agentLimitTag(l.gatewayId, l.projectId),
        tokensPerMinute: l.requestsPerMinute,
        tokenQuota: l.requestQuota,
        quotaPeriod: l.quotaPeriod,
        gatewayId: l.gatewayId,
        gatewayName: servedGateways.get(l.gatewayId) ?? '',
        agentName: agentNames.get(l.agentId) ?? '',
        projectName: projectNames.get(l.projectId) ?? '',
      }),
    ]);
  }
  for (const a of records.agents) {
    if (!servedGateways.has(a.gatewayId)) continue;
    let byName = byGateway.get(a.gatewayId);
    if (!byName) byGateway.set(a.gatewayId, (byName = new Map()));
    const agentLimits = limits.get(a.id);
    byName.set(
      a.name,
      Object.freeze({
        id: a.id,
        name: a.name,
        gatewayId: a.gatewayId,
        url: a.url,
        protocol: a.protocol,
        agentCardUrl: a.agentCardUrl,
        otelAgentId: a.otelAgentId,
        blocked: a.blocked,
        projects: new Set([a.projectId, ...(grants.get(a.id) ?? [])]),
        limitsFor: (projectId: string) => agentLimits?.get(projectId) ?? NONE,
      }),
    );
  }
  return byGateway;
}

/** Every agent limit of a snapshot's agents, once. */
export function agentLimitRules(agents: ReadonlyMap<string, ReadonlyMap<string, AgentRuntime>> | undefined): AgentLimitRule[] {
  const out: AgentLimitRule[] = [];
  for (const byName of agents?.values() ?? []) for (const agent of byName.values()) for (const project of agent.projects) out.push(...agent.limitsFor(project));
  return out;
}
