import { isDeepStrictEqual } from 'node:util';
import { hasUrlSecrets, isRedactedUrl, redactUrl } from '../../security/url-secrets.js';
import type { Backend, Deployment, Gateway } from '../../domain/model.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { notInResource } from '../admin-errors.js';
import { limitValuesProblem as valuesProblem } from '../limit-values.js';
import { catalogPricing } from '../../accounting/price-catalog.js';
import type { Pricing } from '../../accounting/pricing.js';
import type { AdminService, DeploymentUpdate, GatewayUpdate, LimitUpdate } from '../admin-service.js';
import type { Permission, Principal } from '../permissions.js';
import type { ConfigDocument, DeploymentDoc, GatewayDoc, LimitValuesDoc, ResourceDoc } from './document.js';
import { planAgents } from './agent-plan.js';
import { limitKey, type CurrentConfig, type CurrentLimit, type CurrentResource } from './state.js';
import { mcpServerNames, planMcpGateway, planMcpServers, type McpChangeKind, type McpPlanHooks } from './mcp-config.js';

export type ChangeAction = 'create' | 'update' | 'delete' | 'enable' | 'disable';
export type ChangeKind = 'resource' | 'deployment' | 'project' | 'instance' | 'gateway' | 'gateway-project' | 'limit' | 'agent' | 'agent-limit' | McpChangeKind;

/** One change a config apply makes, as reported (dry run or not). */
export interface ConfigChange {
  action: ChangeAction;
  kind: ChangeKind;
  /** The admin API path of what changes, e.g. `resources/prod/deployments/gpt-4o`. */
  target: string;
  /** For updates: the fields that change (an upstream key shows as `upstreamApiKey`, never its value). */
  fields?: string[];
  /** The values before (updates, deletions, disabling), secrets shown as `(set)`, URLs redacted. */
  from?: Record<string, unknown>;
  /** The values after (creations, updates, enabling), shown the same way. */
  to?: Record<string, unknown>;
}

/** A project key pair, generated when apply creates the project: shown this once. */
export interface CreatedKeys {
  resource: string;
  project: string;
  primary: string;
  secondary: string;
}

export interface StepContext {
  service: AdminService;
  actor: Principal;
  keys: CreatedKeys[];
}

export interface PlannedStep {
  change: ConfigChange;
  /** What the caller must be allowed (and on which resource, for project changes). */
  permission: Permission;
  resource?: string;
  run(ctx: StepContext): Promise<void>;
}

export interface PlanOptions {
  /** Within the resources the document names, delete the deployments and projects their lists leave out. */
  prune: boolean;
  /** Also delete the gateways and resources the document does not name (of the kinds it lists at all). */
  pruneUnnamed?: boolean;
  providers: ProviderRegistry;
  /** Opens a stored upstream key, to tell whether the document's one differs. */
  openSecret: (sealed: string) => string;
}

export interface ConfigPlan {
  steps: PlannedStep[];
  /**
   * The resources whose upstream keys the document names. Naming a key needs the permission to
   * set it whether or not it matches the stored one: otherwise the plan (a change, or none) would
   * tell anyone who may plan whether a guessed key is the stored one.
   */
  keyedResources: string[];
  /** What makes the document inapplicable; a plan with problems is never run. */
  problems: string[];
}

/**
 * The changes that make the store match the document, in an order each can run in (parents
 * before children, enabling before limiting, pruning last and children first), or the problems
 * that prevent it. Pure: reads only its arguments.
 */
export function planConfig(doc: ConfigDocument, current: CurrentConfig, options: PlanOptions): ConfigPlan {
  const planner = new Planner(doc, current, options);
  planner.plan();
  return { steps: planner.steps, problems: planner.problems, keyedResources: [...planner.keyedResources] };
}

class Planner {
  readonly steps: PlannedStep[] = [];
  readonly problems: string[] = [];
  readonly keyedResources = new Set<string>();
  private readonly prune: PlannedStep[] = [];

  constructor(
    private readonly doc: ConfigDocument,
    private readonly current: CurrentConfig,
    private readonly options: PlanOptions,
  ) {}

  private get resources(): ResourceDoc[] {
    return this.doc.resources ?? [];
  }

  private get gateways(): GatewayDoc[] {
    return this.doc.gateways ?? [];
  }

  plan(): void {
    this.checkUnique(this.resources.map((r) => r.name), 'resource');
    this.checkUnique(this.gateways.map((g) => g.name), 'gateway');
    for (const r of this.resources) this.planResource(r);
    const instancesClaimed = new Map<string, string>();
    for (const g of this.gateways) this.planGateway(g, instancesClaimed);
    if (this.options.pruneUnnamed) this.planPruneOutside();
    // Removals (pruning, and what a gateway entry no longer lists) run last, and deepest first:
    // limits, then gateway projects, gateways, projects, deployments, resources (the order the
    // admin API's rules allow).
    const depth: Record<string, number> = {
      'agent-limit': 0,
      'mcp-limit': 0,
      'mcp-grant': 0,
      limit: 0,
      agent: 0.5,
      'gateway-project': 1,
      gateway: 2,
      project: 3,
      deployment: 4,
      'mcp-server': 4,
      resource: 5,
    };
    this.prune.sort((a, b) => depth[a.change.kind]! - depth[b.change.kind]!);
    this.steps.push(...this.prune);
  }

  // ------------------------------------------------------------------ resources

  private planResource(r: ResourceDoc): void {
    const at = `resource "${r.name}"`;
    const existing = this.current.resources.get(r.name);
    const description = r.description ?? null;
    const deployments = r.deployments ?? [];
    const projects = r.projects ?? [];
    if (!existing) {
      this.step('create', 'resource', `resources/${r.name}`, 'manage-resources', ({ service, actor }) => service.resources.create(actor, { name: r.name, description }));
    } else if (existing.resource.description !== description) {
      this.step('update', 'resource', `resources/${r.name}`, 'manage-resources', ({ service, actor }) => service.resources.update(actor, r.name, { description }), ['description'], undefined, {
        from: { description: existing.resource.description },
        to: { description },
      });
    }
    this.checkUnique(deployments.map((d) => d.name), `deployment in ${at}`);
    this.checkUnique(projects, `project in ${at}`);
    for (const d of deployments) this.planDeployment(r.name, d, existing?.deployments.get(d.name));
    planMcpServers(r.name, r.mcpServers, this.current.mcp, this.mcpHooks(), existing !== undefined);
    for (const name of projects) {
      if (existing?.projects.has(name)) continue;
      this.step('create', 'project', `resources/${r.name}/projects/${name}`, 'manage-projects', async ({ service, actor, keys }) => {
        const created = await service.projects.create(actor, r.name, name);
        keys.push({ resource: r.name, project: name, primary: created.keys.primary, secondary: created.keys.secondary });
      }, undefined, r.name);
    }
    // Pruning is limited to the lists the entry gives: a resource entry without `projects` prunes none.
    if (this.options.prune && existing && r.deployments) {
      for (const name of existing.deployments.keys()) {
        if (deployments.some((d) => d.name === name)) continue;
        this.pruneStep('delete', 'deployment', `resources/${r.name}/deployments/${name}`, 'manage-resources', ({ service, actor }) => service.deployments.delete(actor, r.name, name));
      }
    }
    if (this.options.prune && existing && r.projects) {
      for (const name of existing.projects.keys()) {
        if (projects.includes(name)) continue;
        this.pruneStep('delete', 'project', `resources/${r.name}/projects/${name}`, 'manage-projects', ({ service, actor }) => service.projects.delete(actor, r.name, name), r.name);
      }
    }
  }

  private planDeployment(resource: string, d: DeploymentDoc, existing: Deployment | undefined): void {
    const target = `resources/${resource}/deployments/${d.name}`;
    const desired = {
      provider: d.provider,
      upstreamUrl: d.upstreamUrl ?? null,
      upstreamModel: d.upstreamModel ?? null,
      apiVersion: d.apiVersion ?? null,
      defaultCompletionReservation: d.defaultCompletionReservation ?? null,
      options: d.options ?? {},
    };
    // undefined: the key is not managed by the document; null or "": no key.
    const key = d.upstreamApiKey === undefined ? undefined : d.upstreamApiKey || null;
    // A URL with credentials is a secret like a key (see keyedResources).
    if (key !== undefined || (desired.upstreamUrl !== null && hasUrlSecrets(desired.upstreamUrl))) this.keyedResources.add(resource);
    const hasKey = key === undefined ? (existing?.upstreamApiKeySealed ?? null) !== null : key !== null;
    const provider = this.options.providers.get(desired.provider);
    const problem = !provider
      ? `provider "${desired.provider}" is not available`
      : d.backends
        ? this.backendsProblem(resource, d, existing)
        : provider.validate({ ...desired, hasUpstreamApiKey: hasKey })?.message;
    if (problem) this.problems.push(`resource "${resource}", deployment "${d.name}": ${problem}`);
    if (desired.upstreamUrl !== null && isRedactedUrl(desired.upstreamUrl) && (!existing || !this.sameUrl(existing, desired.upstreamUrl))) {
      this.problems.push(`resource "${resource}", deployment "${d.name}": upstreamUrl carries redacted credentials (***): give the real URL (e.g. with \${VAR})`);
    }

    if (!existing) {
      this.step('create', 'deployment', target, 'manage-resources', ({ service, actor }) =>
        service.deployments.create(actor, resource, {
          name: d.name,
          ...desired,
          upstreamApiKey: key ?? null,
          backends: d.backends ?? null,
          retry: d.retry ?? null,
          circuitBreaker: d.circuitBreaker ?? null,
          pricing: d.pricing ?? null,
        }),
      );
      return;
    }
    const patch: DeploymentUpdate = {};
    for (const field of Object.keys(desired) as (keyof typeof desired)[]) {
      const same = field === 'upstreamUrl' ? this.sameUrl(existing, desired.upstreamUrl) : isDeepStrictEqual(existing[field], desired[field]);
      if (!same) Object.assign(patch, { [field]: desired[field] });
    }
    if (key !== undefined && !this.sameKey(existing.upstreamApiKeySealed, key)) patch.upstreamApiKey = key;
    if (!this.sameBackends(existing.backends ?? null, d.backends ?? null)) patch.backends = d.backends ?? null;
    if (!isDeepStrictEqual(existing.retry ?? null, d.retry ?? null)) patch.retry = d.retry ?? null;
    if (!isDeepStrictEqual(existing.circuitBreaker ?? null, d.circuitBreaker ?? null)) patch.circuitBreaker = d.circuitBreaker ?? null;
    // "catalog" is compared as the prices it stands for (what the store holds).
    const pricing: Pricing | null = d.pricing === 'catalog' ? catalogPricing(d.upstreamModel ?? d.name) : (d.pricing ?? null);
    if (!isDeepStrictEqual(withoutSource(existing.pricing ?? null), withoutSource(pricing))) patch.pricing = d.pricing ?? null;
    const fields = Object.keys(patch);
    if (fields.length > 0) {
      const from = Object.fromEntries(fields.map((f) => [f, shownDeploymentValue(f, f === 'upstreamApiKey' ? existing.upstreamApiKeySealed : existing[f as keyof Deployment])]));
      const to = Object.fromEntries(fields.map((f) => [f, shownDeploymentValue(f, patch[f as keyof DeploymentUpdate])]));
      this.step('update', 'deployment', target, 'manage-resources', ({ service, actor }) => service.deployments.update(actor, resource, d.name, patch), fields, undefined, { from, to });
    }
  }

  /**
   * The first problem with a pool's backends as the document gives them (names, keys, each
   * backend's provider settings); the admin service checks the API family when it applies.
   */
  private backendsProblem(resource: string, d: DeploymentDoc, existing: Deployment | undefined): string | null {
    const stored = new Map((existing?.backends ?? []).map((b) => [b.name, b]));
    const names = new Set<string>();
    for (const [i, b] of (d.backends ?? []).entries()) {
      if (names.has(b.name)) return `backends[${i}].name "${b.name}" is used by another backend of this deployment: names must be unique`;
      names.add(b.name);
      if (b.upstreamApiKey !== undefined || hasUrlSecrets(b.upstreamUrl)) this.keyedResources.add(resource);
      const providerName = b.provider ?? d.provider;
      const provider = this.options.providers.get(providerName);
      if (!provider) return `backends[${i}].provider "${providerName}" is not available`;
      const hasKey = b.upstreamApiKey === undefined ? (stored.get(b.name)?.upstreamApiKeySealed ?? null) !== null : !!b.upstreamApiKey;
      const problem = provider.validate({
        upstreamUrl: b.upstreamUrl,
        upstreamModel: b.upstreamModel ?? d.upstreamModel ?? null,
        hasUpstreamApiKey: hasKey,
        apiVersion: b.apiVersion ?? d.apiVersion ?? null,
        options: d.options ?? {},
      });
      if (problem) return `backends[${i}]: ${problem.message}`;
      const was = stored.get(b.name);
      if (isRedactedUrl(b.upstreamUrl) && (!was || !this.sameBackendUrl(was, b.upstreamUrl))) {
        return `backends[${i}].upstreamUrl carries redacted credentials (***): give the real URL (e.g. with \${VAR})`;
      }
    }
    return null;
  }

  /** Whether the document's backends are the stored ones: same settings, URLs as shown or as they are, keys when given. */
  private sameBackends(stored: readonly Backend[] | null, doc: DeploymentDoc['backends'] | null): boolean {
    if (stored === null || stored.length === 0 || !doc) return (stored === null || stored.length === 0) === !doc;
    if (stored.length !== doc.length) return false;
    return doc.every((b, i) => {
      const s = stored[i]!;
      return (
        s.name === b.name &&
        s.provider === (b.provider ?? null) &&
        this.sameBackendUrl(s, b.upstreamUrl) &&
        s.upstreamModel === (b.upstreamModel ?? null) &&
        s.apiVersion === (b.apiVersion ?? null) &&
        s.priority === (b.priority ?? 1) &&
        s.weight === (b.weight ?? 1) &&
        (b.upstreamApiKey === undefined || this.sameKey(s.upstreamApiKeySealed, b.upstreamApiKey || null))
      );
    });
  }

  private sameBackendUrl(stored: Backend, url: string): boolean {
    return url === stored.upstreamUrl || (stored.upstreamUrlSealed !== null && this.sameKey(stored.upstreamUrlSealed, url));
  }

  /** The stored URL as shown (credentials redacted, as exported) or as it is. */
  private sameUrl(existing: Deployment, url: string | null): boolean {
    if (url === existing.upstreamUrl) return true;
    return existing.upstreamUrlSealed !== null && url !== null && this.sameKey(existing.upstreamUrlSealed, url);
  }

  private sameKey(sealed: string | null, key: string | null): boolean {
    if (sealed === null || key === null) return sealed === key;
    try {
      return this.options.openSecret(sealed) === key;
    } catch {
      return false; // sealed with another secret key: setting it again repairs it
    }
  }

  // ------------------------------------------------------------------ gateways

  private planGateway(g: GatewayDoc, instancesClaimed: Map<string, string>): void {
    const at = `gateway "${g.name}"`;
    const defaultProblem = g.defaultProjectLimit ? limitValuesProblem(g.defaultProjectLimit) : null;
    if (defaultProblem) this.problems.push(`${at}, defaultProjectLimit: ${defaultProblem}`);
    const existing = this.current.gateways.get(g.name);
    const resource = this.effectiveResource(g.resource);
    if (!resource) {
      this.problems.push(`${at}: resource "${g.resource}" is neither in the document nor in the store`);
      return;
    }
    if (existing) {
      if (existing.resource !== g.resource) {
        this.problems.push(`${at}: it governs resource "${existing.resource}"; a gateway's resource cannot change (delete the gateway to move it)`);
      }
      if (g.instance !== undefined && g.instance !== existing.instance) {
        this.problems.push(`${at}: it is served by instance "${existing.instance}"; a gateway's instance cannot change (delete the gateway to move it)`);
      }
      const desired = gatewaySettings(g);
      const patch: GatewayUpdate = {};
      for (const field of Object.keys(desired) as (keyof typeof desired)[]) {
        if (!isDeepStrictEqual(existing.gateway[field], desired[field])) Object.assign(patch, { [field]: desired[field] });
      }
      const fields = Object.keys(patch);
      const from = Object.fromEntries(fields.map((f) => [f, existing.gateway[f as keyof GatewayUpdate]]));
      if (fields.length > 0) {
        this.step('update', 'gateway', `gateways/${g.name}`, 'manage-gateways', ({ service, actor }) => service.gateways.update(actor, g.name, patch), fields, undefined, { from, to: { ...patch } });
      }
    } else {
      const holder = this.current.resources.get(g.resource)?.gateway;
      if (holder) this.problems.push(`${at}: resource "${g.resource}" already has gateway "${holder}" (a resource has at most one)`);
      this.planNewGateway(g, instancesClaimed);
    }
    if (g.instance !== undefined) {
      const other = instancesClaimed.get(g.instance);
      if (other) this.problems.push(`${at}: instance "${g.instance}" is also named by gateway "${other}"; an instance serves one gateway`);
      instancesClaimed.set(g.instance, g.name);
    }

    // Projects: those named are enabled, the others disabled (when the entry lists projects at all).
    const projects = g.projects ?? [];
    this.checkUnique(projects, `project in ${at}`);
    const enabledNow = (name: string) => (existing ? this.current.resources.get(g.resource)?.projects.get(name)?.gatewayStatus === 'enabled' : false);
    for (const name of projects) {
      if (!resource.projects.has(name)) {
        this.problems.push(`${at}: ${notInResource('project', name, g.resource)}`);
        continue;
      }
      // A project created while its resource has a gateway joins it: nothing to enable then.
      const joinsOnCreation = existing !== undefined && !this.current.resources.get(g.resource)?.projects.has(name);
      if (enabledNow(name) || joinsOnCreation) continue;
      this.step(
        'enable',
        'gateway-project',
        `gateways/${g.name}/projects/${name}`,
        'manage-gateways',
        ({ service, actor }) => service.gatewayProjects.setStatus(actor, g.name, name, 'enabled').then(() => undefined),
        undefined,
        undefined,
        { from: { gatewayStatus: existing && this.current.resources.get(g.resource)?.projects.has(name) ? 'disabled' : null }, to: { gatewayStatus: 'enabled' } },
      );
    }
    if (g.projects !== undefined && existing) {
      for (const name of resource.projects.keys()) {
        if (projects.includes(name)) continue;
        const createdHere = !this.current.resources.get(g.resource)?.projects.has(name);
        if (!enabledNow(name) && !createdHere) continue;
        this.pruneStep(
          'disable',
          'gateway-project',
          `gateways/${g.name}/projects/${name}`,
          'manage-gateways',
          ({ service, actor }) => service.gatewayProjects.setStatus(actor, g.name, name, 'disabled').then(() => undefined),
          undefined,
          { from: { gatewayStatus: 'enabled' }, to: { gatewayStatus: 'disabled' } },
        );
      }
    }

    this.planLimits(g, resource, existing?.limits);
    // Like projects and limits, the agents a gateway entry lists are the whole truth (absent lists are left alone).
    planAgents(g.name, g, resource.projects, existing?.agents, {
      prune: true,
      step: (action, kind, target, permission, run, fields) => this.step(action, kind, target, permission, run, fields),
      pruneStep: (action, kind, target, permission, run) => this.pruneStep(action, kind, target, permission, run),
      problem: (message) => this.problems.push(message),
    });
    const inDoc = this.resources.find((r) => r.name === g.resource);
    const servers = mcpServerNames(g.resource, inDoc?.mcpServers, inDoc !== undefined, this.current.mcp, this.options.prune && inDoc?.mcpServers !== undefined);
    planMcpGateway(g.name, g.resource, { grants: g.mcpGrants, limits: g.mcpLimits }, { servers, projects: resource.projects }, this.current.mcp, this.mcpHooks(), existing !== undefined);
  }

  /** How the MCP planning (mcp-config.ts) adds its problems and steps to this plan. */
  private mcpHooks(): McpPlanHooks {
    return {
      prune: this.options.prune,
      openSecret: this.options.openSecret,
      problem: (message) => this.problems.push(message),
      keyed: (resource) => this.keyedResources.add(resource),
      step: (action, kind, target, permission, run, fields) => this.step(action, kind, target, permission, run, fields),
      pruneStep: (action, kind, target, permission, run) => this.pruneStep(action, kind, target, permission, run),
    };
  }

  private planNewGateway(g: GatewayDoc, instancesClaimed: Map<string, string>): void {
    let instance: { mode: 'new' } | { mode: 'existing'; name: string } = { mode: 'new' };
    if (g.instance !== undefined) {
      const existingInstance = this.current.instances.get(g.instance);
      const user = [...this.current.gateways.values()].find((cg) => cg.instance === g.instance);
      if (user) this.problems.push(`gateway "${g.name}": instance "${g.instance}" already serves gateway "${user.gateway.name}"`);
      if (!existingInstance && !instancesClaimed.has(g.instance)) {
        const name = g.instance;
        this.step('create', 'instance', `instances/${name}`, 'manage-gateways', ({ service, actor }) => service.instances.create(actor, name));
      }
      instance = { mode: 'existing', name: g.instance };
    }
    const { defaultProjectLimit, corsOrigins } = gatewaySettings(g);
    this.step('create', 'gateway', `gateways/${g.name}`, 'manage-gateways', async ({ service, actor }) => {
      await service.gateways.create(actor, { name: g.name, resource: g.resource, instance, defaultProjectLimit, corsOrigins });
      if (g.logContent) await service.gateways.update(actor, g.name, { logContent: true });
    });
  }

  private planLimits(g: GatewayDoc, resource: EffectiveResource, existing: Map<string, CurrentLimit> | undefined): void {
    const seen = new Set<string>();
    for (const l of g.limits ?? []) {
      const key = limitKey(l.project, l.deployment);
      const at = `gateway "${g.name}", limit for project "${l.project}" on ${l.deployment ? `deployment "${l.deployment}"` : 'all deployments'}`;
      if (seen.has(key)) this.problems.push(`${at}: named twice (one limit per project and deployment)`);
      seen.add(key);
      if (!resource.projects.has(l.project)) this.problems.push(`${at}: ${notInResource('project', l.project, g.resource)}`);
      if (l.deployment && !resource.deployments.has(l.deployment)) this.problems.push(`${at}: ${notInResource('deployment', l.deployment, g.resource)}`);
      const problem = limitValuesProblem(l, l.budget != null);
      if (problem) this.problems.push(`${at}: ${problem}`);

      const values = { tokensPerMinute: l.tokensPerMinute ?? null, tokenQuota: l.tokenQuota ?? null, quotaPeriod: l.quotaPeriod ?? null };
      const current = existing?.get(key);
      const target = `gateways/${g.name}/limits/${key}`;
      if (!current) {
        this.step(
          'create',
          'limit',
          target,
          'manage-gateways',
          ({ service, actor }) => service.limits.create(actor, g.name, { project: l.project, deployment: l.deployment ?? null, ...values, budget: l.budget ?? null }),
          undefined,
          undefined,
          { to: setValues({ ...values, budget: l.budget ?? null }) },
        );
        continue;
      }
      const patch: LimitUpdate = {};
      for (const field of Object.keys(values) as (keyof typeof values)[]) {
        if (current.limit[field] !== values[field]) Object.assign(patch, { [field]: values[field] });
      }
      if (!isDeepStrictEqual(current.limit.budget ?? null, l.budget ?? null)) patch.budget = l.budget ?? null;
      const fields = Object.keys(patch);
      const id = current.limit.id;
      if (fields.length > 0) {
        const from = Object.fromEntries(fields.map((f) => [f, current.limit[f as keyof LimitUpdate]]));
        this.step('update', 'limit', target, 'manage-gateways', ({ service, actor }) => service.limits.update(actor, g.name, id, patch), fields, undefined, { from, to: { ...patch } });
      }
    }
    // The entry's limits are the gateway's limits: one it no longer lists is deleted.
    if (g.limits !== undefined && existing) {
      for (const [key, current] of existing) {
        if (seen.has(key)) continue;
        const id = current.limit.id;
        this.pruneStep('delete', 'limit', `gateways/${g.name}/limits/${key}`, 'manage-gateways', ({ service, actor }) => service.limits.delete(actor, g.name, id), undefined, {
          from: setValues(current.limit),
        });
      }
    }
  }

  // ------------------------------------------------------------------ pruning outside the document

  /** Gateways and resources the document does not name at all. */
  private planPruneOutside(): void {
    for (const [name, g] of this.doc.gateways === undefined ? [] : this.current.gateways) {
      if (this.gateways.some((d) => d.name === name)) continue;
      for (const p of this.current.resources.get(g.resource)?.projects.values() ?? []) {
        if (p.gatewayStatus !== 'enabled') continue;
        this.pruneStep('disable', 'gateway-project', `gateways/${name}/projects/${p.name}`, 'manage-gateways', ({ service, actor }) =>
          service.gatewayProjects.setStatus(actor, name, p.name, 'disabled').then(() => undefined),
        );
      }
      this.pruneStep('delete', 'gateway', `gateways/${name}`, 'manage-gateways', ({ service, actor }) => service.gateways.delete(actor, name));
    }
    for (const name of this.doc.resources === undefined ? [] : this.current.resources.keys()) {
      if (this.resources.some((r) => r.name === name)) continue;
      this.pruneStep('delete', 'resource', `resources/${name}`, 'manage-resources', ({ service, actor }) => service.resources.delete(actor, name));
    }
  }

  // ------------------------------------------------------------------ helpers

  /** A resource as it will be: the document's, plus what the store has and pruning keeps. */
  private effectiveResource(name: string): EffectiveResource | null {
    const inDoc = this.resources.find((r) => r.name === name);
    const stored: CurrentResource | undefined = this.current.resources.get(name);
    if (!inDoc) {
      const pruned = this.options.pruneUnnamed && this.doc.resources !== undefined;
      return stored && !pruned ? { deployments: new Set(stored.deployments.keys()), projects: new Set(stored.projects.keys()) } : null;
    }
    const keepDeployments = stored && !(this.options.prune && inDoc.deployments);
    const keepProjects = stored && !(this.options.prune && inDoc.projects);
    return {
      deployments: new Set([...(inDoc.deployments ?? []).map((d) => d.name), ...(keepDeployments ? stored.deployments.keys() : [])]),
      projects: new Set([...(inDoc.projects ?? []), ...(keepProjects ? stored.projects.keys() : [])]),
    };
  }


  private checkUnique(names: readonly string[], what: string): void {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) this.problems.push(`${what} "${name}" is named twice`);
      seen.add(name);
    }
  }

  private step(
    action: ChangeAction,
    kind: ChangeKind,
    target: string,
    permission: Permission,
    run: (ctx: StepContext) => Promise<unknown>,
    fields?: string[],
    resource?: string,
    values?: ChangeValues,
  ): void {
    this.steps.push(makeStep(action, kind, target, permission, run, fields, resource, values));
  }

  private pruneStep(
    action: ChangeAction,
    kind: ChangeKind,
    target: string,
    permission: Permission,
    run: (ctx: StepContext) => Promise<unknown>,
    resource?: string,
    values?: ChangeValues,
  ): void {
    this.prune.push(makeStep(action, kind, target, permission, run, undefined, resource, values));
  }
}

type ChangeValues = Pick<ConfigChange, 'from' | 'to'>;

/** A limit's values that are set (a plan shows `tokensPerMinute: 5000`, not three nulls). */
function setValues(v: { tokensPerMinute: number | null; tokenQuota: number | null; quotaPeriod: string | null; budget?: unknown }): Record<string, unknown> {
  return Object.fromEntries(Object.entries({ tokensPerMinute: v.tokensPerMinute, tokenQuota: v.tokenQuota, quotaPeriod: v.quotaPeriod, budget: v.budget ?? null }).filter(([, x]) => x !== null));
}

/** A deployment field's value as a plan may show it: keys as `(set)`, URLs without credentials, backends by name. */
function shownDeploymentValue(field: string, value: unknown): unknown {
  if (field === 'upstreamApiKey') return value ? '(set)' : null;
  if (field === 'upstreamUrl' && typeof value === 'string') return redactUrl(value);
  if (field === 'backends') return Array.isArray(value) ? value.map((b: { name: string }) => b.name) : null;
  return value ?? null;
}

interface EffectiveResource {
  deployments: Set<string>;
  projects: Set<string>;
}

function makeStep(
  action: ChangeAction,
  kind: ChangeKind,
  target: string,
  permission: Permission,
  run: (ctx: StepContext) => Promise<unknown>,
  fields: string[] | undefined,
  resource: string | undefined,
  values: ChangeValues = {},
): PlannedStep {
  const change: ConfigChange = {
    action,
    kind,
    target,
    ...(fields ? { fields } : {}),
    ...(values.from ? { from: values.from } : {}),
    ...(values.to ? { to: values.to } : {}),
  };
  return {
    change,
    permission,
    ...(resource === undefined ? {} : { resource }),
    run: async (ctx) => {
      await run(ctx);
    },
  };
}

/** A gateway's settings as the document states them, absent ones at their defaults. */
function gatewaySettings(g: GatewayDoc): Pick<Gateway, 'logContent' | 'defaultProjectLimit' | 'corsOrigins'> {
  const d = g.defaultProjectLimit;
  return {
    logContent: g.logContent,
    defaultProjectLimit: d ? { tokensPerMinute: d.tokensPerMinute ?? null, tokenQuota: d.tokenQuota ?? null, quotaPeriod: d.quotaPeriod ?? null } : null,
    corsOrigins: g.corsOrigins ?? [],
  };
}

/** The admin API's rules for a limit's values (a limit's or a gateway default's), checked before anything is changed. */
function limitValuesProblem(l: LimitValuesDoc, hasBudget = false): string | null {
  return valuesProblem({ tokensPerMinute: l.tokensPerMinute ?? null, tokenQuota: l.tokenQuota ?? null, quotaPeriod: l.quotaPeriod ?? null }, hasBudget)?.message ?? null;
}

/** Prices without the note of where they came from: what a document and the store compare on. */
function withoutSource(p: Pricing | null): Omit<Pricing, 'source'> | null {
  if (p === null) return null;
  const { source: _source, ...prices } = p;
  return prices;
}
