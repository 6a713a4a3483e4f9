import { newId } from '../../domain/ids.js';
import { catalogModels, catalogPricing } from '../../accounting/price-catalog.js';
import type { CircuitBreakerPolicy, Deployment, Pricing, ProviderName, RetryPolicy } from '../../domain/model.js';
import { hasUrlSecrets, isRedactedUrl, redactUrl } from '../../security/url-secrets.js';
import { conflict, invalid } from '../admin-errors.js';
import type { Principal } from '../permissions.js';
import { deploymentView } from '../views.js';
import { now } from './change.js';
import { backendProblem, sealBackends, type BackendInput } from './backend-settings.js';
import type { AdminContext } from './context.js';
import type { BackendPicker } from '../../dataplane/backends/backend-picker.js';
import type { DeploymentBackendsView } from '../api-types.js';
import { deploymentBackends } from './backend-status.js';

export interface DeploymentInput {
  name: string;
  provider: ProviderName;
  upstreamUrl?: string | null;
  upstreamModel?: string | null;
  upstreamApiKey?: string | null;
  apiVersion?: string | null;
  defaultCompletionReservation?: number | null;
  options?: Record<string, unknown>;
  /** Several upstreams instead of one (docs/backends.md); null: back to the one of upstreamUrl. */
  backends?: BackendInput[] | null;
  retry?: RetryPolicy | null;
  circuitBreaker?: CircuitBreakerPolicy | null;
  /** Prices per million tokens; "catalog": the built-in catalog's for its upstream model; null: none. */
  pricing?: Pricing | 'catalog' | null;
}
export type DeploymentUpdate = Partial<Omit<DeploymentInput, 'name'>>;

/** Deployments: named model endpoints of a resource; their credentials are sealed and write-only. */
export class DeploymentAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(resourceName: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return (await this.ctx.store.listDeployments(resource.id)).map((d) => deploymentView(d, resource.name));
  }

  async get(resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return deploymentView(await this.ctx.find.deployment(resource, name), resource.name);
  }

  /** Each backend's live state on this node (docs/backends.md). */
  async backends(resourceName: string, name: string, picker: BackendPicker): Promise<DeploymentBackendsView> {
    const resource = await this.ctx.find.resource(resourceName);
    return deploymentBackends(await this.ctx.find.deployment(resource, name), picker);
  }

  async create(actor: Principal, resourceName: string, input: DeploymentInput) {
    const resource = await this.ctx.find.resource(resourceName);
    if (await this.ctx.store.findDeployment(resource.id, input.name)) {
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
      upstreamApiKeySealed: input.upstreamApiKey ? this.ctx.secrets.seal(input.upstreamApiKey) : null,
      apiVersion: input.apiVersion ?? null,
      defaultCompletionReservation: input.defaultCompletionReservation ?? null,
      options: input.options ?? {},
      ...this.pool(input, undefined),
      ...pricingOf(input.pricing, input.upstreamModel ?? input.name),
      createdAt: at,
      updatedAt: at,
    };
    this.validate(deployment);
    await this.ctx.changes.change(actor, 'deployment.create', `resources/${resourceName}/deployments/${input.name}`, redactDeployment(input), (tx) =>
      tx.insertDeployment(deployment),
    );
    return deploymentView(deployment, resource.name);
  }

  async update(actor: Principal, resourceName: string, name: string, patch: DeploymentUpdate) {
    const resource = await this.ctx.find.resource(resourceName);
    const current = await this.ctx.find.deployment(resource, name);
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
            : this.ctx.secrets.seal(patch.upstreamApiKey),
      apiVersion: patch.apiVersion !== undefined ? patch.apiVersion : current.apiVersion,
      defaultCompletionReservation:
        patch.defaultCompletionReservation !== undefined ? patch.defaultCompletionReservation : current.defaultCompletionReservation,
      options: patch.options ?? current.options,
      ...this.pool(patch, current),
      ...(patch.pricing === undefined
        ? {}
        : pricingOf(patch.pricing, (patch.upstreamModel !== undefined ? patch.upstreamModel : current.upstreamModel) ?? current.name)),
      updatedAt: now(),
    };
    this.validate(updated);
    // The old values of what the patch sets, as the API shows them (secrets stay redacted).
    const before = deploymentView(current, resource.name) as unknown as Record<string, unknown>;
    const previous = Object.fromEntries(
      Object.keys(patch).map((k) => [k, k === 'upstreamApiKey' ? (current.upstreamApiKeySealed ? '(set)' : null) : (before[k] ?? null)]),
    );
    await this.ctx.changes.change(
      actor,
      'deployment.update',
      `resources/${resourceName}/deployments/${name}`,
      redactDeployment(patch),
      (tx) => tx.updateDeployment(current.id, updated),
      previous,
    );
    return deploymentView(updated, resource.name);
  }

  async delete(actor: Principal, resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    const deployment = await this.ctx.find.deployment(resource, name);
    const { provider, upstreamModel } = deploymentView(deployment, resource.name);
    await this.ctx.changes.change(
      actor,
      'deployment.delete',
      `resources/${resourceName}/deployments/${name}`,
      null,
      (tx) => tx.deleteDeployment(deployment.id),
      { provider, upstreamModel },
    );
  }

  /** A URL with credentials is sealed and shown redacted; a redacted one cannot be stored as a URL. */
  private protectedUrl(url: string | null): { upstreamUrl: string | null; upstreamUrlSealed: string | null } {
    if (url === null || !hasUrlSecrets(url)) return { upstreamUrl: url, upstreamUrlSealed: null };
    if (isRedactedUrl(url)) {
      throw invalid('upstreamUrl carries redacted credentials (***): give the URL with its real credentials', 'upstreamUrl');
    }
    return { upstreamUrl: redactUrl(url), upstreamUrlSealed: this.ctx.secrets.seal(url) };
  }

  /** The pool settings of a create (no `current`) or an update: given ones replace, absent ones stay. */
  private pool(input: DeploymentUpdate, current: Deployment | undefined): Pick<Deployment, 'backends' | 'retry' | 'circuitBreaker'> {
    let backends = current?.backends ?? null;
    if (input.backends !== undefined) {
      const sealed = input.backends === null ? null : sealBackends(input.backends, current?.backends, this.ctx.secrets);
      if (sealed !== null && !Array.isArray(sealed)) throw invalid(sealed.message, sealed.field);
      backends = sealed;
    }
    return {
      backends,
      retry: input.retry !== undefined ? input.retry : (current?.retry ?? null),
      circuitBreaker: input.circuitBreaker !== undefined ? input.circuitBreaker : (current?.circuitBreaker ?? null),
    };
  }

  /** The deployment's provider judges its settings (each backend's, for a pool); its problem names the field at fault. */
  private validate(d: Deployment): void {
    if (d.backends && d.backends.length > 0) {
      const problem = backendProblem(d, this.ctx.providers, this.ctx.secrets);
      if (problem) throw invalid(problem.message, problem.field);
      return;
    }
    const provider = this.ctx.providers.get(d.provider);
    if (!provider) throw invalid(`provider "${d.provider}" is not available`, 'provider');
    const problem = provider.validate({
      upstreamUrl: d.upstreamUrlSealed === null ? d.upstreamUrl : this.ctx.secrets.open(d.upstreamUrlSealed),
      upstreamModel: d.upstreamModel,
      hasUpstreamApiKey: d.upstreamApiKeySealed !== null,
      apiVersion: d.apiVersion,
      options: d.options,
    });
    if (problem) throw invalid(problem.message, problem.field);
  }
}

/** The pricing to store: given, taken from the catalog for the upstream model, or none. */
function pricingOf(pricing: Pricing | 'catalog' | null | undefined, model: string): { pricing: Pricing | null } | Record<string, never> {
  if (pricing === undefined) return {};
  if (pricing !== 'catalog') return { pricing };
  const found = catalogPricing(model);
  if (!found) {
    throw invalid(
      `pricing: the built-in catalog has no prices for model "${model}" (it knows ${catalogModels().join(', ')}); give the prices instead`,
      'pricing',
    );
  }
  return { pricing: found };
}

/** A deployment change as the audit log keeps it: no credentials. */
function redactDeployment(input: DeploymentUpdate | DeploymentInput): Record<string, unknown> {
  const { upstreamApiKey, ...rest } = input;
  if (typeof rest.upstreamUrl === 'string') rest.upstreamUrl = redactUrl(rest.upstreamUrl);
  if (rest.backends) {
    rest.backends = rest.backends.map(({ upstreamApiKey: key, ...b }) => ({
      ...b,
      upstreamUrl: redactUrl(b.upstreamUrl),
      ...(key === undefined ? {} : { upstreamApiKey: key ? '(set)' : '(cleared)' }),
    }));
  }
  return upstreamApiKey === undefined ? rest : { ...rest, upstreamApiKey: upstreamApiKey ? '(set)' : '(cleared)' };
}
