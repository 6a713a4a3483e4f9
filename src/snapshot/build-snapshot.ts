import { buildAgentRuntimes } from '../agents/agent-runtime.js';
import { budgetRuleId, defaultLimitIdentity, gatewayDefaultApplies, limitIdentity } from '../domain/default-limit.js';
import { priceRuntime, type PriceRuntime } from '../accounting/pricing.js';
import { breakerPolicy, retryAttempts, retryOn } from './backend-policy.js';
import type { Deployment, Gateway, Limit, Project } from '../domain/model.js';
import type { SecretBox } from '../security/secret-box.js';
import { buildMcpIndex } from '../mcp/mcp-snapshot.js';
import type { ConfigRecords } from '../store/store.js';
import type {
  BackendPool,
  BackendRuntime,
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
  const recordsByResource = new Map<string, Gateway>();
  const corsOrigins = new Set<string>();
  for (const g of records.gateways) {
    const instanceName = instanceNames.get(g.instanceId) ?? '';
    if (served !== 'all' && !served.has(instanceName)) continue;
    const runtime: GatewayRuntime = Object.freeze({
      id: g.id,
      name: g.name,
      resourceName: resourceNames.get(g.resourceId) ?? '',
      instanceName,
      logContent: g.logContent,
      corsOrigins: new Set(g.corsOrigins),
    });
    for (const origin of g.corsOrigins) corsOrigins.add(origin);
    gatewaysByResource.set(g.resourceId, runtime);
    gatewaysById.set(g.id, runtime);
    gateways.set(g.name, runtime);
    recordsByResource.set(g.resourceId, g);
  }

  const deploymentsByResource = new Map<string, Map<string, DeploymentRuntime>>();
  const deploymentNames = new Map<string, string>();
  for (const d of records.deployments) {
    deploymentNames.set(d.id, d.name);
    let byName = deploymentsByResource.get(d.resourceId);
    if (!byName) deploymentsByResource.set(d.resourceId, (byName = new Map()));
    const base: DeploymentRuntime = {
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
        price: d.pricing ? priceRuntime(d.pricing) : null,
    };
    const pool = d.backends && d.backends.length > 0 ? backendPool(d, base, secrets) : undefined;
    const worstPrice = pool ? dearest(pool.backends.map((b) => b.deployment.price ?? null)) : base.price;
    byName.set(d.name, Object.freeze(pool ? { ...base, pool, worstPrice } : { ...base, worstPrice }));
  }

  const projectNames = new Map(records.projects.map((p) => [p.id, p.name]));
  const limitsByProject = new Map<string, LimitRuntime[]>();
  /** Projects with a project-wide limit of their own: the gateway's default does not apply to them. */
  const ownProjectWide = new Set<string>();
  for (const l of records.limits) {
    const gateway = gatewaysById.get(l.gatewayId);
    if (!gateway) continue;
    if (l.deploymentId === null) ownProjectWide.add(l.projectId);
    let list = limitsByProject.get(l.projectId);
    if (!list) limitsByProject.set(l.projectId, (list = []));
    const runtime = limitRuntime(l, gateway.id, gateway.name, projectNames.get(l.projectId) ?? '', deploymentNames);
    // A limit with only a budget has no token rule to reserve against.
    if (runtime.tokensPerMinute !== null || runtime.tokenQuota !== null) list.push(runtime);
    if (l.budget) {
      list.push(
        Object.freeze({
          id: budgetRuleId(l.id),
          tag: limitIdentity(l).tag,
          gatewayId: runtime.gatewayId,
          gatewayName: runtime.gatewayName,
          projectName: runtime.projectName,
          deploymentName: runtime.deploymentName,
          tokensPerMinute: null,
          tokenQuota: l.budget.micros,
          quotaPeriod: l.budget.period,
          unit: 'micros' as const,
          budget: l.budget,
          limitId: l.id,
        }),
      );
    }
  }

  const projectsByKeyHash = new Map<string, ProjectRuntime>();
  const noDeployments = new Map<string, DeploymentRuntime>();
  for (const p of records.projects) {
    const gateway = gatewaysByResource.get(p.resourceId) ?? null;
    const deployments = deploymentsByResource.get(p.resourceId) ?? noDeployments;
    const enabled = gateway !== null && p.gatewayStatus === 'enabled';
    const limits = limitsByProject.get(p.id) ?? [];
    const record = recordsByResource.get(p.resourceId);
    const fallback = record && gatewayDefaultApplies(record, p, ownProjectWide.has(p.id)) ? gatewayDefaultLimit(record, p) : null;
    const runtime: ProjectRuntime = Object.freeze({
      id: p.id,
      name: p.name,
      resourceName: resourceNames.get(p.resourceId) ?? '',
      gateway,
      enabled,
      deployments,
      limitsFor: indexLimits(fallback ? [...limits, fallback] : limits, deployments),
    });
    projectsByKeyHash.set(p.primaryKey.hash, runtime);
    projectsByKeyHash.set(p.secondaryKey.hash, runtime);
  }

  const agents = buildAgentRuntimes(records.agents, new Map([...gatewaysById].map(([id, g]) => [id, g.name])), projectNames);
  const mcp = buildMcpIndex(records, secrets, gatewaysById);
  return Object.freeze({ version: records.version, builtAt: Date.now(), projectsByKeyHash, gateways, corsOrigins, agents, mcp });
}

/** A deployment's backends, each as a view of the deployment with its own upstream; by priority. */
function backendPool(d: Deployment, base: DeploymentRuntime, secrets: SecretBox): BackendPool {
  const backends = (d.backends ?? [])
    .map((b, order) => ({ b, order }))
    .sort((x, y) => x.b.priority - y.b.priority || x.order - y.order)
    .map(({ b }): BackendRuntime =>
      Object.freeze({
        name: b.name,
        priority: b.priority,
        weight: b.weight,
        key: `${d.id}/${b.name}`,
        deployment: Object.freeze({
          ...base,
          provider: b.provider ?? base.provider,
          upstreamUrl: b.upstreamUrlSealed === null ? b.upstreamUrl : secrets.open(b.upstreamUrlSealed),
          upstreamModel: b.upstreamModel ?? base.upstreamModel,
          upstreamApiKey: b.upstreamApiKeySealed === null ? null : secrets.open(b.upstreamApiKeySealed),
          apiVersion: b.apiVersion ?? base.apiVersion,
          price: b.pricing ? priceRuntime(b.pricing) : (base.price ?? null),
        }),
      }),
    );
  return Object.freeze({
    backends: Object.freeze(backends),
    attempts: retryAttempts(d.retry, backends.length),
    retryOn: retryOn(d.retry),
    breaker: breakerPolicy(d.circuitBreaker),
  });
}

function limitRuntime(l: Limit, gatewayId: string, gatewayName: string, projectName: string, deploymentNames: ReadonlyMap<string, string>): LimitRuntime {
  return Object.freeze({
    ...limitIdentity(l),
    gatewayId,
    gatewayName,
    projectName,
    deploymentName: l.deploymentId === null ? null : (deploymentNames.get(l.deploymentId) ?? null),
    tokensPerMinute: l.tokensPerMinute,
    tokenQuota: l.tokenQuota,
    quotaPeriod: l.quotaPeriod,
  });
}

/**
 * The gateway's default project limit as a limit of a project (enabled, without a project-wide
 * limit of its own: its own replaces the default, from the next request). Its id is derived from
 * the gateway and the project, so its counters carry over from one snapshot to the next.
 */
function gatewayDefaultLimit(gateway: Gateway, project: Project): LimitRuntime | null {
  const values = gateway.defaultProjectLimit;
  if (!values) return null;
  return Object.freeze({
    ...defaultLimitIdentity(gateway.id, project.id),
    gatewayId: gateway.id,
    gatewayName: gateway.name,
    projectName: project.name,
    deploymentName: null,
    tokensPerMinute: values.tokensPerMinute,
    tokenQuota: values.tokenQuota,
    quotaPeriod: values.quotaPeriod,
    gatewayDefault: true,
  });
}

/** The dearest price per kind of token of a pool's backends; null when one has none or currencies differ. */
function dearest(prices: readonly (PriceRuntime | null)[]): PriceRuntime | null {
  const first = prices[0];
  if (!first) return null;
  const max = (a: bigint, b: bigint) => (b > a ? b : a);
  let worst: PriceRuntime = first;
  for (const p of prices) {
    if (p === null || p.currency !== first.currency) return null;
    worst = {
      currency: first.currency,
      input: max(worst.input, p.input),
      cachedInput: max(worst.cachedInput, p.cachedInput),
      cacheWrite: max(worst.cacheWrite, p.cacheWrite),
      output: max(worst.output, p.output),
      promptWorst: max(worst.promptWorst, p.promptWorst),
    };
  }
  return Object.freeze(worst);
}

/** Precomputes, per deployment, the limits a request must fit, so the request path does one Map lookup. */
function indexLimits(
  runtimes: readonly LimitRuntime[],
  deployments: ReadonlyMap<string, DeploymentRuntime>,
): (deploymentName: string) => readonly LimitRuntime[] {
  if (runtimes.length === 0) return () => NO_LIMITS;
  const projectWide = Object.freeze(runtimes.filter((l) => l.deploymentName === null));
  const byDeployment = new Map<string, readonly LimitRuntime[]>();
  for (const name of deployments.keys()) {
    const own = runtimes.filter((l) => l.deploymentName === name);
    byDeployment.set(name, own.length === 0 ? projectWide : Object.freeze([...own, ...projectWide]));
  }
  return (deploymentName) => byDeployment.get(deploymentName) ?? projectWide;
}
