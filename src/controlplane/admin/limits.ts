import { defaultLimitAddress, defaultLimitIdentity, gatewayDefaultApplies, limitIdentity, projectOfDefaultAddress } from '../../domain/default-limit.js';
import { newId } from '../../domain/ids.js';
import type { Deployment, Gateway, Limit, QuotaPeriod } from '../../domain/model.js';
import { UniqueViolationError } from '../../store/store.js';
import { limitExists, missingOnGateway, notFound } from '../admin-errors.js';
import { checkLimitValues, patchLimitValues } from '../limit-values.js';
import type { Principal } from '../permissions.js';
import type { LimitView } from '../api-types.js';
import { limitView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface LimitInput {
  project: string;
  deployment?: string | null;
  tokensPerMinute?: number | null;
  tokenQuota?: number | null;
  quotaPeriod?: QuotaPeriod | null;
}
export type LimitUpdate = Pick<LimitInput, 'tokensPerMinute' | 'tokenQuota' | 'quotaPeriod'>;

/** Token limits of a gateway: per project, for one deployment or all of them. */
export class LimitAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(gatewayName: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const names = await this.ctx.find.scopeNames(gateway.resourceId);
    return (await this.ctx.store.listLimits(gateway.id)).map((l) => limitView(l, names.project(l), names.deployment(l)));
  }

  async get(gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.ctx.find.limit(gateway, id);
    const names = await this.ctx.find.scopeNames(gateway.resourceId);
    return limitView(limit, names.project(limit), names.deployment(limit));
  }

  /**
   * A limit as the limiter knows it (same identity and tag as in the data plane), and what it
   * caps. `default:<project>` addresses the gateway's default limit of a project it applies to.
   */
  async rule(gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const defaultOf = projectOfDefaultAddress(id);
    if (defaultOf !== null) return this.defaultRule(gateway, defaultOf);
    const limit = await this.ctx.find.limit(gateway, id);
    const names = await this.ctx.find.scopeNames(gateway.resourceId);
    return {
      id: limit.id,
      project: names.project(limit),
      deployment: names.deployment(limit),
      source: 'project' as const,
      rule: { ...limit, ...limitIdentity(limit) },
    };
  }

  private async defaultRule(gateway: Gateway, projectName: string) {
    const project = await this.ctx.store.findProject(gateway.resourceId, projectName);
    if (!project) throw missingOnGateway('project', projectName, gateway.name);
    const own = await this.ctx.store.findLimitByScope(gateway.id, project.id, null);
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
      rule: { ...defaultLimitIdentity(gateway.id, project.id), ...values },
    };
  }

  /**
   * The id of the limit of a project for one deployment (or, with null, for all deployments):
   * limits are addressable by what they cap, not only by id.
   */
  async idOf(gatewayName: string, projectName: string, deploymentName: string | null): Promise<string> {
    const { store } = this.ctx;
    const gateway = await this.ctx.find.gateway(gatewayName);
    const project = await store.findProject(gateway.resourceId, projectName);
    if (!project) throw missingOnGateway('project', projectName, gatewayName);
    let deploymentId: string | null = null;
    if (deploymentName !== null) {
      const deployment = await store.findDeployment(gateway.resourceId, deploymentName);
      if (!deployment) throw missingOnGateway('deployment', deploymentName, gatewayName);
      deploymentId = deployment.id;
    }
    const limit = await store.findLimitByScope(gateway.id, project.id, deploymentId);
    if (!limit) {
      const scope = deploymentName === null ? 'all deployments' : `deployment "${deploymentName}"`;
      throw notFound(`project "${projectName}" has no limit for ${scope} on gateway "${gatewayName}"`);
    }
    return limit.id;
  }

  async create(actor: Principal, gatewayName: string, input: LimitInput) {
    const { store } = this.ctx;
    const gateway = await this.ctx.find.gateway(gatewayName);
    const project = await store.findProject(gateway.resourceId, input.project);
    if (!project) throw missingOnGateway('project', input.project, gatewayName, 'project');
    let deployment: Deployment | undefined;
    if (input.deployment) {
      deployment = await store.findDeployment(gateway.resourceId, input.deployment);
      if (!deployment) throw missingOnGateway('deployment', input.deployment, gatewayName, 'deployment');
    }
    const deploymentId = deployment?.id ?? null;
    const scope = deployment ? `deployment "${deployment.name}"` : 'all deployments';
    if (await store.findLimitByScope(gateway.id, project.id, deploymentId)) throw limitExists(project.name, scope);
    const values = checkLimitValues({
      tokensPerMinute: input.tokensPerMinute ?? null,
      tokenQuota: input.tokenQuota ?? null,
      quotaPeriod: input.quotaPeriod ?? null,
    });
    const at = now();
    const limit: Limit = { id: newId('lim'), gatewayId: gateway.id, projectId: project.id, deploymentId, ...values, createdAt: at, updatedAt: at };
    await this.ctx.changes.change(actor, 'limit.create', `gateways/${gatewayName}/limits/${limit.id}`, { ...input }, async (tx) => {
      try {
        await tx.insertLimit(limit);
      } catch (err) {
        // Another admin added the same scope since the check above.
        if (err instanceof UniqueViolationError) throw limitExists(project.name, scope);
        throw err;
      }
    });
    return withWarnings(limitView(limit, project.name, deployment?.name ?? null), await this.reservationOf(gateway, deployment));
  }

  /** The completion reserved for a request without max_tokens under a limit of this scope (the largest, for all deployments). */
  private async reservationOf(gateway: Gateway, deployment: Deployment | undefined | null): Promise<number> {
    const fallback = this.ctx.defaultCompletionReservation;
    if (deployment) return deployment.defaultCompletionReservation ?? fallback;
    const all = await this.ctx.store.listDeployments(gateway.resourceId);
    return Math.max(fallback, ...all.map((d) => d.defaultCompletionReservation ?? fallback));
  }

  async update(actor: Principal, gatewayName: string, id: string, patch: LimitUpdate) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.ctx.find.limit(gateway, id);
    const values = checkLimitValues(patchLimitValues(limit, patch));
    const updated: Limit = { ...limit, ...values, updatedAt: now() };
    const previous = Object.fromEntries(Object.keys(patch).map((k) => [k, limit[k as keyof LimitUpdate] ?? null]));
    await this.ctx.changes.change(actor, 'limit.update', `gateways/${gatewayName}/limits/${id}`, { ...patch }, (tx) => tx.updateLimit(id, updated), previous);
    const names = await this.ctx.find.scopeNames(gateway.resourceId);
    const deploymentName = names.deployment(updated);
    const deployment = deploymentName === null ? null : await this.ctx.store.findDeployment(gateway.resourceId, deploymentName);
    return withWarnings(limitView(updated, names.project(updated), names.deployment(updated)), await this.reservationOf(gateway, deployment));
  }

  async delete(actor: Principal, gatewayName: string, id: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const limit = await this.ctx.find.limit(gateway, id);
    const names = await this.ctx.find.scopeNames(gateway.resourceId);
    const previous = {
      project: names.project(limit),
      deployment: names.deployment(limit),
      tokensPerMinute: limit.tokensPerMinute,
      tokenQuota: limit.tokenQuota,
      quotaPeriod: limit.quotaPeriod,
    };
    await this.ctx.changes.change(actor, 'limit.delete', `gateways/${gatewayName}/limits/${id}`, null, (tx) => tx.deleteLimit(id), previous);
  }
}

/**
 * A limit below the completion reserved for requests without max_tokens does not block them (they
 * are capped to what it holds, see docs/limits.md), but their answers are cut short: said once, here.
 */
function withWarnings(view: LimitView, reservation: number): LimitView {
  const warnings: string[] = [];
  const below = (what: string, value: number | null) => {
    if (value !== null && value < reservation) {
      warnings.push(
        `${what} ${value} is below the ${reservation} completion tokens reserved for a request without max_tokens: ` +
          'such requests are capped to what the limit holds (header x-tollgate-max-tokens-capped), so their answers may be cut short.',
      );
    }
  };
  below('tokensPerMinute', view.tokensPerMinute);
  below('tokenQuota', view.tokenQuota);
  return warnings.length === 0 ? view : { ...view, warnings };
}
