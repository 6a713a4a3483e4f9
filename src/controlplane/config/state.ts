import type { Deployment, Gateway, Instance, Limit, Project, Resource } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import { readCurrentAgents, type CurrentAgents } from './agent-plan.js';
import { readCurrentMcp, type CurrentMcp } from './mcp-config.js';

/** What the store holds, by name: the side of a config plan that is. */
export interface CurrentConfig {
  resources: Map<string, CurrentResource>;
  gateways: Map<string, CurrentGateway>;
  instances: Map<string, Instance>;
  /** MCP servers, grants and call limits (absent: none). */
  mcp?: CurrentMcp;
}

export interface CurrentResource {
  resource: Resource;
  deployments: Map<string, Deployment>;
  projects: Map<string, Project>;
  /** The gateway governing it, if any. */
  gateway: string | null;
}

export interface CurrentGateway {
  gateway: Gateway;
  resource: string;
  instance: string;
  /** Keyed by `limitKey(project, deployment)`. */
  limits: Map<string, CurrentLimit>;
  /** Its custom agents and their limits (docs/agents.md). */
  agents?: CurrentAgents;
}

export interface CurrentLimit {
  limit: Limit;
  project: string;
  deployment: string | null;
}

/** One limit per project and scope (a deployment, or all of them: "*"). */
export const limitKey = (project: string, deployment: string | null | undefined) => `${project}/${deployment ?? '*'}`;

export async function readCurrentConfig(store: Store): Promise<CurrentConfig> {
  const [resources, deployments, projects, gateways, instances, limits] = await Promise.all([
    store.listResources(),
    store.listDeployments(),
    store.listProjects(),
    store.listGateways(),
    store.listInstances(),
    store.listLimits(),
  ]);
  const byResourceId = new Map<string, CurrentResource>();
  const current: CurrentConfig = {
    resources: new Map(),
    gateways: new Map(),
    instances: new Map(instances.map((i) => [i.name, i])),
    mcp: await readCurrentMcp(store),
  };
  for (const resource of resources) {
    const entry: CurrentResource = { resource, deployments: new Map(), projects: new Map(), gateway: null };
    byResourceId.set(resource.id, entry);
    current.resources.set(resource.name, entry);
  }
  for (const d of deployments) byResourceId.get(d.resourceId)?.deployments.set(d.name, d);
  for (const p of projects) byResourceId.get(p.resourceId)?.projects.set(p.name, p);
  const instanceNames = new Map(instances.map((i) => [i.id, i.name]));
  const byGatewayId = new Map<string, CurrentGateway>();
  for (const gateway of gateways) {
    const resource = byResourceId.get(gateway.resourceId);
    if (!resource) continue;
    resource.gateway = gateway.name;
    const entry: CurrentGateway = { gateway, resource: resource.resource.name, instance: instanceNames.get(gateway.instanceId) ?? '', limits: new Map() };
    byGatewayId.set(gateway.id, entry);
    current.gateways.set(gateway.name, entry);
  }
  for (const limit of limits) {
    const gateway = byGatewayId.get(limit.gatewayId);
    const resource = gateway && current.resources.get(gateway.resource);
    if (!gateway || !resource) continue;
    const project = [...resource.projects.values()].find((p) => p.id === limit.projectId)?.name;
    const deployment = limit.deploymentId === null ? null : [...resource.deployments.values()].find((d) => d.id === limit.deploymentId)?.name;
    if (project === undefined || deployment === undefined) continue;
    gateway.limits.set(limitKey(project, deployment), { limit, project, deployment });
  }
  const agents = await readCurrentAgents(store, new Map(projects.map((p) => [p.id, p.name])));
  for (const [id, entry] of byGatewayId) {
    const own = agents.get(id);
    if (own) entry.agents = own;
  }
  return current;
}
