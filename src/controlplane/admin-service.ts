import { isDeepStrictEqual } from 'node:util';
import type {
  AdminToken,
  Deployment,
  Gateway,
  KeySlot,
  Limit,
  LimitValues,
  Project,
  ProviderName,
  QuotaPeriod,
  Resource,
  Role,
} from '../domain/model.js';
import { isLive } from '../cluster/node-registry.js';
import { defaultLimitAddress, defaultLimitId, gatewayDefaultApplies, limitTag, projectOfDefaultAddress } from '../domain/default-limit.js';
import { newId } from '../domain/ids.js';
import { hasUrlSecrets, isRedactedUrl, redactUrl } from '../security/url-secrets.js';
import { TollgateError } from '../errors.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { generateAdminToken, generateProjectKey } from '../security/keys.js';
import type { SecretBox } from '../security/secret-box.js';
import { UniqueViolationError, type GatewayPatch, type Store } from '../store/store.js';
import { checkLimitValues, patchLimitValues } from './limit-values.js';
import type { Principal } from './permissions.js';
import {
  adminTokenView,
  auditView,
  deploymentView,
  gatewayProjectView,
  gatewayView,
  instanceView,
  limitView,
  projectLimitView,
  projectView,
  resourceView,
} from './views.js';

export interface DeploymentInput {
  name: string;
  provider: ProviderName;
  upstreamUrl?: string | null;
  upstreamModel?: string | null;
  upstreamApiKey?: string | null;
  apiVersion?: string | null;
  defaultCompletionReservation?: number | null;
  options?: Record<string, unknown>;
}
export type DeploymentUpdate = Partial<Omit<DeploymentInput, 'name'>>;

export interface GatewayInput {
  name: string;
  resource: string;
  instance: { mode: 'new' } | { mode: 'existing'; name: string };
  defaultProjectLimit?: Partial<LimitValues> | null;
  /** Already normalised origins (see schemas.ts). */
  corsOrigins?: string[];
}

/** Gateway settings. `defaultProjectLimit` merges into the current one (null removes it). */
export interface GatewayUpdate {
  logContent?: boolean;
  defaultProjectLimit?: Partial<LimitValues> | null;
  corsOrigins?: string[];
}

export interface LimitInput {
  project: string;
  deployment?: string | null;
  tokensPerMinute?: number | null;
  tokenQuota?: number | null;
  quotaPeriod?: QuotaPeriod | null;
}
export type LimitUpdate = Pick<LimitInput, 'tokensPerMinute' | 'tokenQuota' | 'quotaPeriod'>;

export interface AdminServiceDeps {
  store: Store;
  secrets: SecretBox;
  providers: ProviderRegistry;
  /** Publishes the committed change to the data plane; awaited so the next request sees it. */
  onConfigChange: () => Promise<void>;
}

const now = () => new Date().toISOString();

/**
 * The control plane's rules: what may be created, linked or deleted, by whom it was done (audit),
 * and that every committed change reaches the data plane as a new config snapshot.
 */
export class AdminService {
  private readonly store: Store;

  constructor(private readonly deps: AdminServiceDeps) {
    this.store = deps.store;
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

  // ---------------------------------------------------------------- instances

  async listInstances() {
    const [instances, gateways] = await Promise.all([this.store.listInstances(), this.store.listGateways()]);
    const byInstance = new Map(gateways.map((g) => [g.instanceId, g.name]));
    return instances.map((i) => instanceView(i, byInstance.get(i.id) ?? null));
  }

  async createInstance(actor: Principal, name: string) {
    if (await this.store.findInstance(name)) throw conflict(`instance "${name}" already exists`);
    const instance = { id: newId('ins'), name, createdAt: now() };
    await this.change(actor, 'instance.create', `instances/${name}`, null, (tx) => tx.insertInstance(instance));
    return instanceView(instance, null);
  }

  // ---------------------------------------------------------------- resources

  async listResources() {
    return (await this.store.listResources()).map(resourceView);
  }

  async getResource(name: string) {
    return resourceView(await this.resource(name));
  }

  async createResource(actor: Principal, input: { name: string; description?: string | null }) {
    if (await this.store.findResource(input.name)) throw conflict(`resource "${input.name}" already exists`);
    const at = now();
    const resource: Resource = { id: newId('res'), name: input.name, description: input.description ?? null, createdAt: at, updatedAt: at };
    await this.change(actor, 'resource.create', `resources/${input.name}`, null, (tx) => tx.insertResource(resource));
    return resourceView(resource);
  }

  async updateResource(actor: Principal, name: string, patch: { description?: string | null }) {
    const resource = await this.resource(name);
    const updated = { ...resource, ...patch, updatedAt: now() };
    await this.change(actor, 'resource.update', `resources/${name}`, patch, (tx) =>
      tx.updateResource(resource.id, { description: updated.description, updatedAt: updated.updatedAt }),
    );
    return resourceView(updated);
  }

  async deleteResource(actor: Principal, name: string) {
    const resource = await this.resource(name);
    const gateway = await this.store.findGatewayByResource(resource.id);
    if (gateway) {
      throw new TollgateError(
        'resource_has_gateway',
        `resource "${name}" is governed by gateway "${gateway.name}"; delete the gateway first`,
      );
    }
    await this.change(actor, 'resource.delete', `resources/${name}`, null, (tx) => tx.deleteResource(resource.id));
  }

  // ---------------------------------------------------------------- deployments

  async listDeployments(resourceName: string) {
    const resource = await this.resource(resourceName);
    return (await this.store.listDeployments(resource.id)).map((d) => deploymentView(d, resource.name));
  }

  async getDeployment(resourceName: string, name: string) {
    const resource = await this.resource(resourceName);
    return deploymentView(await this.deployment(resource, name), resource.name);
  }

  async createDeployment(actor: Principal, resourceName: string, input: DeploymentInput) {
    const resource = await this.resource(resourceName);
    if (await this.store.findDeployment(resource.id, input.name)) {
      throw conflict(`deployment "${input.name}" already exists in resource "${resourceName}"`);
    }
    const at = now();
    const deployment: Deployment = {
      id: newId('dep'),
      resourceId: resource.id,
      name: input.name,
      provider: input.provider,
      ...this.protectedUrl(input.upstreamUrl ?? null),
      upstreamModel: input.upstreamModel ?? null,
      upstreamApiKeySealed: input.upstreamApiKey ? this.deps.secrets.seal(input.upstreamApiKey) : null,
      apiVersion: input.apiVersion ?? null,
      defaultCompletionReservation: input.defaultCompletionReservation ?? null,
      options: input.options ?? {},
      createdAt: at,
      updatedAt: at,
    };
    this.validateDeployment(deployment);
    await this.change(actor, 'deployment.create', `resources/${resourceName}/deployments/${input.name}`, redactDeployment(input), (tx) =>
      tx.insertDeployment(deployment),
    );
    return deploymentView(deployment, resource.name);
  }

  async updateDeployment(actor: Principal, resourceName: string, name: string, patch: DeploymentUpdate) {
    const resource = await this.resource(resourceName);
    const current = await this.deployment(resource, name);
    const updated: Deployment = {
      ...current,
      provider: patch.provider ?? current.provider,
      // The URL as shown (credentials redacted) given back unchanged keeps the sealed one.
      ...(patch.upstreamUrl === undefined || patch.upstreamUrl === current.upstreamUrl
        ? { upstreamUrl: current.upstreamUrl, upstreamUrlSealed: current.upstreamUrlSealed }
        : this.protectedUrl(patch.upstreamUrl)),
      upstreamModel: patch.upstreamModel !== undefined ? patch.upstreamModel : current.upstreamModel,
      upstreamApiKeySealed:
        patch.upstreamApiKey === undefined
          ? current.upstreamApiKeySealed
          : patch.upstreamApiKey === null || patch.upstreamApiKey === ''
            ? null
            : this.deps.secrets.seal(patch.upstreamApiKey),
      apiVersion: patch.apiVersion !== undefined ? patch.apiVersion : current.apiVersion,
      defaultCompletionReservation:
        patch.defaultCompletionReservation !== undefined ? patch.defaultCompletionReservation : current.defaultCompletionReservation,
      options: patch.options ?? current.options,
      updatedAt: now(),
    };
    this.validateDeployment(updated);
    await this.change(actor, 'deployment.update', `resources/${resourceName}/deployments/${name}`, redactDeployment(patch), (tx) =>
      tx.updateDeployment(current.id, updated),
    );
    return deploymentView(updated, resource.name);
  }

  async deleteDeployment(actor: Principal, resourceName: string, name: string) {
    const resource = await this.resource(resourceName);
    const deployment = await this.deployment(resource, name);
    await this.change(actor, 'deployment.delete', `resources/${resourceName}/deployments/${name}`, null, (tx) =>
      tx.deleteDeployment(deployment.id),
    );
  }

  /** A URL with credentials is sealed and shown redacted; a redacted one cannot be stored as a URL. */
  private protectedUrl(url: string | null): { upstreamUrl: string | null; upstreamUrlSealed: string | null } {
    if (url === null || !hasUrlSecrets(url)) return { upstreamUrl: url, upstreamUrlSealed: null };
    if (isRedactedUrl(url)) {
      throw invalid('upstreamUrl carries redacted credentials (***): give the URL with its real credentials', 'upstreamUrl');
    }
    return { upstreamUrl: redactUrl(url), upstreamUrlSealed: this.deps.secrets.seal(url) };
  }

  private validateDeployment(d: Deployment): void {
    const provider = this.deps.providers.get(d.provider);
    if (!provider) throw invalid(`provider "${d.provider}" is not available`, 'provider');
    const problem = provider.validate({
      upstreamUrl: d.upstreamUrlSealed === null ? d.upstreamUrl : this.deps.secrets.open(d.upstreamUrlSealed),
      upstreamModel: d.upstreamModel,
      hasUpstreamApiKey: d.upstreamApiKeySealed !== null,
      apiVersion: d.apiVersion,
      options: d.options,
    });
    if (problem) throw invalid(problem.message, problem.field);
  }

  // ---------------------------------------------------------------- projects and keys

  async listProjects(resourceName: string) {
    const resource = await this.resource(resourceName);
    return (await this.store.listProjects(resource.id)).map((p) => projectView(p, resource.name));
  }

  async getProject(resourceName: string, name: string) {
    const resource = await this.resource(resourceName);
    return projectView(await this.project(resource, name), resource.name);
  }

  /** The only time the keys are shown: they are stored as hashes. */
  async createProject(actor: Principal, resourceName: string, name: string) {
    const resource = await this.resource(resourceName);
    if (await this.store.findProject(resource.id, name)) {
      throw conflict(`project "${name}" already exists in resource "${resourceName}"`);
    }
    const gateway = await this.store.findGatewayByResource(resource.id);
    const primary = generateProjectKey();
    const secondary = generateProjectKey();
    const project: Project = {
      id: newId('prj'),
      resourceId: resource.id,
      name,
      // Projects created once a gateway governs the resource join it; older ones must be added.
      gatewayStatus: gateway ? 'enabled' : 'disabled',
      primaryKey: primary.stored,
      secondaryKey: secondary.stored,
      createdAt: now(),
    };
    await this.change(actor, 'project.create', `resources/${resourceName}/projects/${name}`, null, (tx) => tx.insertProject(project));
    return { ...projectView(project, resource.name), keys: { primary: primary.secret, secondary: secondary.secret } };
  }

  async deleteProject(actor: Principal, resourceName: string, name: string) {
    const resource = await this.resource(resourceName);
    const project = await this.project(resource, name);
    await this.change(actor, 'project.delete', `resources/${resourceName}/projects/${name}`, null, (tx) => tx.deleteProject(project.id));
  }

  /** Replaces one key; the other keeps working, so clients rotate without downtime. */
  async regenerateKey(actor: Principal, resourceName: string, name: string, slot: KeySlot) {
    const resource = await this.resource(resourceName);
    const project = await this.project(resource, name);
    const key = generateProjectKey();
    const patch = slot === 'primary' ? { primaryKey: key.stored } : { secondaryKey: key.stored };
    await this.change(actor, 'project.key.regenerate', `resources/${resourceName}/projects/${name}/keys/${slot}`, null, (tx) =>
      tx.updateProject(project.id, patch),
    );
    return { name, resource: resource.name, slot, key: key.secret, hint: key.stored.hint };
  }

  // ---------------------------------------------------------------- gateways

  async listGateways() {
    const [gateways, resources, instances] = await Promise.all([
      this.store.listGateways(),
      this.store.listResources(),
      this.store.listInstances(),
    ]);
    const resourceNames = new Map(resources.map((r) => [r.id, r.name]));
    const instanceNames = new Map(instances.map((i) => [i.id, i.name]));
    return gateways.map((g) => gatewayView(g, resourceNames.get(g.resourceId) ?? '', instanceNames.get(g.instanceId) ?? ''));
  }

  async getGateway(name: string) {
    return this.gatewayViewOf(await this.gateway(name));
  }

  async createGateway(actor: Principal, input: GatewayInput) {
    if (await this.store.findGateway(input.name)) throw conflict(`gateway "${input.name}" already exists`);
    const defaultProjectLimit = input.defaultProjectLimit ? checkLimitValues(patchLimitValues(null, input.defaultProjectLimit), 'defaultProjectLimit') : null;
    const resource = await this.store.findResource(input.resource);
    if (!resource) throw notFound(`resource "${input.resource}" does not exist`, 'resource');
    const existing = await this.store.findGatewayByResource(resource.id);
    if (existing) {
      throw new TollgateError(
        'resource_has_gateway',
        `resource "${resource.name}" already has gateway "${existing.name}"; a resource has at most one gateway`,
        { param: 'resource' },
      );
    }
    let instance;
    let newInstance = false;
    if (input.instance.mode === 'existing') {
      instance = await this.store.findInstance(input.instance.name);
      if (!instance) throw notFound(`instance "${input.instance.name}" does not exist`, 'instance.name');
      const user = await this.store.findGatewayByInstance(instance.id);
      if (user) {
        throw new TollgateError(
          'instance_in_use',
          `instance "${instance.name}" already backs gateway "${user.name}"; an instance can back only one gateway — choose another instance or create a new one`,
          { param: 'instance.name' },
        );
      }
    } else {
      instance = { id: newId('ins'), name: await this.freeInstanceName(input.name), createdAt: now() };
      newInstance = true;
    }
    const gateway: Gateway = {
      id: newId('gw'),
      name: input.name,
      resourceId: resource.id,
      instanceId: instance.id,
      status: 'provisioning',
      logContent: false,
      defaultProjectLimit,
      corsOrigins: input.corsOrigins ?? [],
      createdAt: now(),
    };
    const created = instance;
    const detail = {
      resource: resource.name,
      instance: instance.name,
      newInstance,
      ...(defaultProjectLimit ? { defaultProjectLimit } : {}),
      ...(gateway.corsOrigins.length > 0 ? { corsOrigins: gateway.corsOrigins } : {}),
    };
    await this.change(actor, 'gateway.create', `gateways/${input.name}`, detail, async (tx) => {
      if (newInstance) await tx.insertInstance(created);
      await tx.insertGateway(gateway);
    });
    return gatewayView(gateway, resource.name, instance.name);
  }

  /**
   * Gateway settings: whether the ledger keeps prompt and completion content, the default limit
   * of projects without a project-wide limit, and the browser origins allowed to call (CORS).
   * Only what differs is written; a patch that changes nothing makes no config version.
   */
  async updateGateway(actor: Principal, name: string, patch: GatewayUpdate) {
    const gateway = await this.gateway(name);
    const changes: GatewayPatch = {};
    if (patch.logContent !== undefined && patch.logContent !== gateway.logContent) changes.logContent = patch.logContent;
    if (patch.defaultProjectLimit !== undefined) {
      const next =
        patch.defaultProjectLimit === null
          ? null
          : checkLimitValues(patchLimitValues(gateway.defaultProjectLimit, patch.defaultProjectLimit), 'defaultProjectLimit');
      if (!isDeepStrictEqual(next, gateway.defaultProjectLimit)) changes.defaultProjectLimit = next;
    }
    if (patch.corsOrigins !== undefined && !isDeepStrictEqual(patch.corsOrigins, gateway.corsOrigins)) changes.corsOrigins = patch.corsOrigins;
    if (Object.keys(changes).length > 0) {
      await this.change(actor, 'gateway.update', `gateways/${name}`, { ...changes }, (tx) => tx.updateGateway(gateway.id, changes));
    }
    return this.gatewayViewOf({ ...gateway, ...changes });
  }

  async deleteGateway(actor: Principal, name: string) {
    const gateway = await this.gateway(name);
    const enabled = (await this.store.listProjects(gateway.resourceId)).filter((p) => p.gatewayStatus === 'enabled');
    if (enabled.length > 0) {
      throw new TollgateError(
        'gateway_has_enabled_projects',
        `gateway "${name}" still has enabled projects (${enabled.map((p) => p.name).join(', ')}); disable them first`,
      );
    }
    await this.change(actor, 'gateway.delete', `gateways/${name}`, null, (tx) => tx.deleteGateway(gateway.id));
  }

  /** The projects of the gateway's resource, their gateway status and the project-wide limit each runs under. */
  async listGatewayProjects(gatewayName: string) {
    const gateway = await this.gateway(gatewayName);
    const [projects, limits] = await Promise.all([this.store.listProjects(gateway.resourceId), this.store.listLimits(gateway.id)]);
    const own = new Map(limits.filter((l) => l.deploymentId === null).map((l) => [l.projectId, l]));
    return projects.map((p) => gatewayProjectView(p, projectLimitView(gateway, p, own.get(p.id))));
  }

  async setProjectGatewayStatus(actor: Principal, gatewayName: string, projectName: string, status: 'enabled' | 'disabled') {
    const gateway = await this.gateway(gatewayName);
    const project = await this.store.findProject(gateway.resourceId, projectName);
    if (!project) throw notFound(`project "${projectName}" does not exist in the resource of gateway "${gatewayName}"`);
    if (project.gatewayStatus !== status) {
      const action = status === 'enabled' ? 'gateway.project.add' : 'gateway.project.disable';
      await this.change(actor, action, `gateways/${gatewayName}/projects/${projectName}`, null, (tx) =>
        tx.updateProject(project.id, { gatewayStatus: status }),
      );
    }
    const updated = { ...project, gatewayStatus: status };
    const own = await this.store.findLimitByScope(gateway.id, project.id, null);
    return gatewayProjectView(updated, projectLimitView(gateway, updated, own));
  }

  // ---------------------------------------------------------------- limits

  async listLimits(gatewayName: string) {
    const gateway = await this.gateway(gatewayName);
    const names = await this.scopeNames(gateway.resourceId);
    return (await this.store.listLimits(gateway.id)).map((l) => limitView(l, names.project(l), names.deployment(l)));
  }

  async getLimit(gatewayName: string, id: string) {
    const gateway = await this.gateway(gatewayName);
    const limit = await this.limit(gateway, id);
    const names = await this.scopeNames(gateway.resourceId);
    return limitView(limit, names.project(limit), names.deployment(limit));
  }

  /**
   * A limit as the limiter knows it (same identity and tag as in the data plane), and what it
   * caps. `default:<project>` addresses the gateway's default limit of a project it applies to.
   */
  async getLimitRule(gatewayName: string, id: string) {
    const gateway = await this.gateway(gatewayName);
    const defaultOf = projectOfDefaultAddress(id);
    if (defaultOf !== null) return this.defaultLimitRule(gateway, defaultOf);
    const limit = await this.limit(gateway, id);
    const names = await this.scopeNames(gateway.resourceId);
    return {
      id: limit.id,
      project: names.project(limit),
      deployment: names.deployment(limit),
      source: 'project' as const,
      rule: { ...limit, tag: limitTag(limit.gatewayId, limit.projectId) },
    };
  }

  private async defaultLimitRule(gateway: Gateway, projectName: string) {
    const project = await this.store.findProject(gateway.resourceId, projectName);
    if (!project) throw notFound(`project "${projectName}" does not exist in the resource of gateway "${gateway.name}"`);
    const own = await this.store.findLimitByScope(gateway.id, project.id, null);
    const values = gateway.defaultProjectLimit;
    if (!values || !gatewayDefaultApplies(gateway, project, own !== undefined)) {
      const why = !values
        ? `gateway "${gateway.name}" has no default project limit`
        : own
          ? `project "${projectName}" has a project-wide limit of its own (${own.id}), which replaces the gateway's default`
          : `project "${projectName}" is not enabled on gateway "${gateway.name}"`;
      throw notFound(`the gateway default does not apply to project "${projectName}": ${why}`);
    }
    return {
      id: defaultLimitAddress(project.name),
      project: project.name,
      deployment: null,
      source: 'gateway-default' as const,
      rule: { id: defaultLimitId(gateway.id, project.id), tag: limitTag(gateway.id, project.id), ...values },
    };
  }

  async createLimit(actor: Principal, gatewayName: string, input: LimitInput) {
    const gateway = await this.gateway(gatewayName);
    const project = await this.store.findProject(gateway.resourceId, input.project);
    if (!project) throw notFound(`project "${input.project}" does not exist in the resource of gateway "${gatewayName}"`, 'project');
    let deployment: Deployment | undefined;
    if (input.deployment) {
      deployment = await this.store.findDeployment(gateway.resourceId, input.deployment);
      if (!deployment) throw notFound(`deployment "${input.deployment}" does not exist in the resource of gateway "${gatewayName}"`, 'deployment');
    }
    const deploymentId = deployment?.id ?? null;
    const scope = deployment ? `deployment "${deployment.name}"` : 'all deployments';
    if (await this.store.findLimitByScope(gateway.id, project.id, deploymentId)) {
      throw new TollgateError('limit_exists', `project "${project.name}" already has a limit for ${scope} on this gateway; edit that one`, { param: 'deployment' });
    }
    const values = checkLimitValues({
      tokensPerMinute: input.tokensPerMinute ?? null,
      tokenQuota: input.tokenQuota ?? null,
      quotaPeriod: input.quotaPeriod ?? null,
    });
    const at = now();
    const limit: Limit = { id: newId('lim'), gatewayId: gateway.id, projectId: project.id, deploymentId, ...values, createdAt: at, updatedAt: at };
    await this.change(actor, 'limit.create', `gateways/${gatewayName}/limits/${limit.id}`, { ...input }, async (tx) => {
      try {
        await tx.insertLimit(limit);
      } catch (err) {
        if (err instanceof UniqueViolationError) {
          throw new TollgateError('limit_exists', `project "${project.name}" already has a limit for ${scope} on this gateway; edit that one`, { param: 'deployment' });
        }
        throw err;
      }
    });
    return limitView(limit, project.name, deployment?.name ?? null);
  }

  async updateLimit(actor: Principal, gatewayName: string, id: string, patch: LimitUpdate) {
    const gateway = await this.gateway(gatewayName);
    const limit = await this.limit(gateway, id);
    const values = checkLimitValues(patchLimitValues(limit, patch));
    const updated: Limit = { ...limit, ...values, updatedAt: now() };
    await this.change(actor, 'limit.update', `gateways/${gatewayName}/limits/${id}`, { ...patch }, (tx) => tx.updateLimit(id, updated));
    const names = await this.scopeNames(gateway.resourceId);
    return limitView(updated, names.project(updated), names.deployment(updated));
  }

  async deleteLimit(actor: Principal, gatewayName: string, id: string) {
    const gateway = await this.gateway(gatewayName);
    await this.limit(gateway, id);
    await this.change(actor, 'limit.delete', `gateways/${gatewayName}/limits/${id}`, null, (tx) => tx.deleteLimit(id));
  }

  // ---------------------------------------------------------------- nodes

  /** The gateway nodes that reported in, with their health and whether they serve the latest config. */
  async listNodes(heartbeatMs: number) {
    const [nodes, version] = await Promise.all([this.store.listNodes(), this.store.configVersion()]);
    const now = Date.now();
    return nodes.map((n) => ({
      id: n.id,
      instance: n.instance ?? '*',
      address: n.address,
      version: n.version,
      configVersion: n.configVersion,
      configCurrent: n.configVersion === version,
      status: isLive(n, heartbeatMs, now) ? ('live' as const) : ('stale' as const),
      startedAt: n.startedAt,
      heartbeatAt: n.heartbeatAt,
    }));
  }

  // ---------------------------------------------------------------- admin tokens and audit

  async listAdminTokens() {
    return (await this.store.listAdminTokens()).map(adminTokenView);
  }

  /** The token is shown once; only its hash is stored. */
  async createAdminToken(actor: Principal, input: { name: string; role: Role; resources?: string[] | null }) {
    const generated = generateAdminToken();
    const token: AdminToken = {
      id: newId('tok'),
      name: input.name,
      role: input.role,
      resources: input.role === 'project-admin' ? (input.resources ?? null) : null,
      hash: generated.stored.hash,
      hint: generated.stored.hint,
      createdAt: now(),
    };
    await this.audited(actor, 'admin-token.create', `tokens/${token.id}`, { name: token.name, role: token.role }, (tx) =>
      tx.insertAdminToken(token),
    );
    return { ...adminTokenView(token), token: generated.secret };
  }

  async deleteAdminToken(actor: Principal, id: string) {
    if (id === actor.id) throw invalid('an admin token cannot revoke itself; use another owner token');
    await this.audited(actor, 'admin-token.delete', `tokens/${id}`, null, async (tx) => {
      // Throwing inside the transaction rolls the audit entry back with it.
      if (!(await tx.deleteAdminToken(id))) throw notFound(`admin token "${id}" does not exist`);
    });
  }

  async listAudit(options: { limit: number; before?: string }) {
    // One more than asked tells whether a next page exists, so no cursor leads to an empty page.
    const rows = await this.store.listAudit({ ...options, limit: options.limit + 1 });
    const items = rows.slice(0, options.limit).map(auditView);
    return { items, nextCursor: rows.length > options.limit ? (items.at(-1)?.id ?? null) : null };
  }

  // ---------------------------------------------------------------- internals

  /** Commits a config change with its audit entry and a new config version, then publishes it. */
  private async change(
    actor: Principal,
    action: string,
    target: string,
    detail: Record<string, unknown> | null,
    write: (tx: Store) => Promise<void>,
  ): Promise<void> {
    await this.audited(actor, action, target, detail, async (tx) => {
      await write(tx);
      await tx.bumpConfigVersion();
    });
    await this.deps.onConfigChange();
  }

  private async audited(
    actor: Principal,
    action: string,
    target: string,
    detail: Record<string, unknown> | null,
    write: (tx: Store) => Promise<void>,
  ): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        await write(tx);
        await tx.appendAudit({ id: newId('aud'), at: now(), actor: actor.name, action, target, detail });
      });
    } catch (err) {
      // Lost a race with another admin: the database's constraint is the final word.
      if (err instanceof UniqueViolationError) throw conflict(`${target} conflicts with an existing record`, undefined);
      throw err;
    }
  }

  private async freeInstanceName(base: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base.slice(0, 60)}-${n}`;
      if (!(await this.store.findInstance(candidate))) return candidate;
    }
  }

  private async gatewayViewOf(g: Gateway) {
    const [resources, instances] = await Promise.all([this.store.listResources(), this.store.listInstances()]);
    return gatewayView(
      g,
      resources.find((r) => r.id === g.resourceId)?.name ?? '',
      instances.find((i) => i.id === g.instanceId)?.name ?? '',
    );
  }

  private async scopeNames(resourceId: string) {
    const [projects, deployments] = await Promise.all([this.store.listProjects(resourceId), this.store.listDeployments(resourceId)]);
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    const deploymentNames = new Map(deployments.map((d) => [d.id, d.name]));
    return {
      project: (l: Limit) => projectNames.get(l.projectId) ?? '',
      deployment: (l: Limit) => (l.deploymentId === null ? null : (deploymentNames.get(l.deploymentId) ?? null)),
    };
  }

  private async resource(name: string): Promise<Resource> {
    const resource = await this.store.findResource(name);
    if (!resource) throw notFound(`resource "${name}" does not exist`);
    return resource;
  }

  private async deployment(resource: Resource, name: string): Promise<Deployment> {
    const deployment = await this.store.findDeployment(resource.id, name);
    if (!deployment) throw notFound(`deployment "${name}" does not exist in resource "${resource.name}"`);
    return deployment;
  }

  private async project(resource: Resource, name: string): Promise<Project> {
    const project = await this.store.findProject(resource.id, name);
    if (!project) throw notFound(`project "${name}" does not exist in resource "${resource.name}"`);
    return project;
  }

  private async gateway(name: string): Promise<Gateway> {
    const gateway = await this.store.findGateway(name);
    if (!gateway) throw notFound(`gateway "${name}" does not exist`);
    return gateway;
  }

  private async limit(gateway: Gateway, id: string): Promise<Limit> {
    const limit = await this.store.findLimit(gateway.id, id);
    if (!limit) throw notFound(`limit "${id}" does not exist on gateway "${gateway.name}"`);
    return limit;
  }
}

function redactDeployment(input: DeploymentUpdate | DeploymentInput): Record<string, unknown> {
  const { upstreamApiKey, ...rest } = input;
  if (typeof rest.upstreamUrl === 'string') rest.upstreamUrl = redactUrl(rest.upstreamUrl);
  return upstreamApiKey === undefined ? rest : { ...rest, upstreamApiKey: upstreamApiKey ? '(set)' : '(cleared)' };
}

// `param` names the request field at fault, so a form can show the message next to it.
const withParam = (param?: string) => (param === undefined ? {} : { param });
const notFound = (message: string, param?: string) => new TollgateError('not_found', message, withParam(param));
const conflict = (message: string, param = 'name') => new TollgateError('already_exists', message, withParam(param));
const invalid = (message: string, param?: string) => new TollgateError('validation_failed', message, withParam(param));
