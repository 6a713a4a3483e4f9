import type { Limit } from '../domain/model.js';
import type { SecretBox } from '../security/secret-box.js';
import type { ConfigRecords } from '../store/store.js';
import type {
  ConfigSnapshot,
  DeploymentRuntime,
  GatewayRuntime,
  LimitRuntime,
  ProjectRuntime,
} from './config-snapshot.js';

/** Which instances' gateways this node serves: every one (embedded `start`) or a named set. */
export type ServedInstances = 'all' | ReadonlySet<string>;

const NO_LIMITS: readonly LimitRuntime[] = Object.freeze([]);

/**
 * Builds the data plane's view from plain records. Pure apart from decrypting upstream keys, so
 * the data plane can be tested with hand-made records and no store at all.
 */
export function buildSnapshot(records: ConfigRecords, secrets: SecretBox, served: ServedInstances): ConfigSnapshot {
  const instanceNames = new Map(records.instances.map((i) => [i.id, i.name]));
  const resourceNames = new Map(records.resources.map((r) => [r.id, r.name]));

  const gatewaysByResource = new Map<string, GatewayRuntime>();
  const gatewaysById = new Map<string, GatewayRuntime>();
  const gateways = new Map<string, GatewayRuntime>();
  for (const g of records.gateways) {
    const instanceName = instanceNames.get(g.instanceId) ?? '';
    if (served !== 'all' && !served.has(instanceName)) continue;
    const runtime: GatewayRuntime = Object.freeze({
      id: g.id,
      name: g.name,
      resourceName: resourceNames.get(g.resourceId) ?? '',
      instanceName,
      logContent: g.logContent,
    });
    gatewaysByResource.set(g.resourceId, runtime);
    gatewaysById.set(g.id, runtime);
    gateways.set(g.name, runtime);
  }

  const deploymentsByResource = new Map<string, Map<string, DeploymentRuntime>>();
  const deploymentNames = new Map<string, string>();
  for (const d of records.deployments) {
    deploymentNames.set(d.id, d.name);
    let byName = deploymentsByResource.get(d.resourceId);
    if (!byName) deploymentsByResource.set(d.resourceId, (byName = new Map()));
    byName.set(
      d.name,
      Object.freeze({
        id: d.id,
        name: d.name,
        resourceName: resourceNames.get(d.resourceId) ?? '',
        provider: d.provider,
        upstreamUrl: d.upstreamUrlSealed === null ? d.upstreamUrl : secrets.open(d.upstreamUrlSealed),
        upstreamModel: d.upstreamModel ?? d.name,
        upstreamApiKey: d.upstreamApiKeySealed === null ? null : secrets.open(d.upstreamApiKeySealed),
        apiVersion: d.apiVersion,
        defaultCompletionReservation: d.defaultCompletionReservation,
        options: Object.freeze({ ...d.options }),
      }),
    );
  }

  const limitsByProject = new Map<string, Limit[]>();
  for (const l of records.limits) {
    if (!gatewaysById.has(l.gatewayId)) continue;
    let list = limitsByProject.get(l.projectId);
    if (!list) limitsByProject.set(l.projectId, (list = []));
    list.push(l);
  }

  const projectsByKeyHash = new Map<string, ProjectRuntime>();
  const noDeployments = new Map<string, DeploymentRuntime>();
  for (const p of records.projects) {
    const gateway = gatewaysByResource.get(p.resourceId) ?? null;
    const deployments = deploymentsByResource.get(p.resourceId) ?? noDeployments;
    const limitsFor = indexLimits(limitsByProject.get(p.id) ?? [], deployments, p.name, gatewaysById, deploymentNames);
    const runtime: ProjectRuntime = Object.freeze({
      id: p.id,
      name: p.name,
      resourceName: resourceNames.get(p.resourceId) ?? '',
      gateway,
      enabled: gateway !== null && p.gatewayStatus === 'enabled',
      deployments,
      limitsFor,
    });
    projectsByKeyHash.set(p.primaryKey.hash, runtime);
    projectsByKeyHash.set(p.secondaryKey.hash, runtime);
  }

  return Object.freeze({ version: records.version, builtAt: Date.now(), projectsByKeyHash, gateways });
}

/** Precomputes, per deployment, the limits a request must fit, so the request path does one Map lookup. */
function indexLimits(
  limits: Limit[],
  deployments: ReadonlyMap<string, DeploymentRuntime>,
  projectName: string,
  gatewaysById: ReadonlyMap<string, GatewayRuntime>,
  deploymentNames: ReadonlyMap<string, string>,
): (deploymentName: string) => readonly LimitRuntime[] {
  if (limits.length === 0) return () => NO_LIMITS;
  const runtimes = limits.map(
    (l): LimitRuntime =>
      Object.freeze({
        id: l.id,
        tag: `${l.gatewayId}/${l.projectId}`,
        gatewayName: gatewaysById.get(l.gatewayId)?.name ?? '',
        projectName,
        deploymentName: l.deploymentId === null ? null : (deploymentNames.get(l.deploymentId) ?? null),
        tokensPerMinute: l.tokensPerMinute,
        tokenQuota: l.tokenQuota,
        quotaPeriod: l.quotaPeriod,
      }),
  );
  const projectWide = Object.freeze(runtimes.filter((l) => l.deploymentName === null));
  const byDeployment = new Map<string, readonly LimitRuntime[]>();
  for (const name of deployments.keys()) {
    const own = runtimes.filter((l) => l.deploymentName === name);
    byDeployment.set(name, own.length === 0 ? projectWide : Object.freeze([...own, ...projectWide]));
  }
  return (deploymentName) => byDeployment.get(deploymentName) ?? projectWide;
}
