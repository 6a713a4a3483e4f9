import { TollgateError } from '../../errors.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { SecretBox } from '../../security/secret-box.js';
import type { Store } from '../../store/store.js';
import type { AdminService } from '../admin-service.js';
import { can, type Principal } from '../permissions.js';
import { CONFIG_VERSION, type ConfigDocument, type DeploymentDoc, type GatewayDoc, type LimitDoc } from './document.js';
import { planConfig, type ConfigChange, type CreatedKeys, type PlannedStep, type StepContext } from './plan.js';
import { readCurrentConfig } from './state.js';

export interface ApplyOptions {
  /** Report the changes without making them. */
  dryRun: boolean;
  /** Also delete (or disable) what the document does not name. */
  prune: boolean;
}

export interface ApplyResult {
  dryRun: boolean;
  prune: boolean;
  changes: ConfigChange[];
  /** Keys of the projects the apply created: shown this once. */
  keys: CreatedKeys[];
}

/**
 * The declarative side of the control plane: the whole configuration as one document, read
 * (export) and made true (apply). Apply changes go through the AdminService one by one, with its
 * rules and audit entries; the whole document is checked first, so a document with a problem
 * changes nothing. Applying the same document again changes nothing.
 */
export class ConfigService {
  constructor(
    private readonly deps: { store: Store; service: AdminService; secrets: SecretBox; providers: ProviderRegistry },
  ) {}

  async export(): Promise<ConfigDocument> {
    const current = await readCurrentConfig(this.deps.store);
    const resources = [...current.resources.values()].map((r) => ({
      name: r.resource.name,
      ...(r.resource.description === null ? {} : { description: r.resource.description }),
      deployments: [...r.deployments.values()].map((d): DeploymentDoc => ({
        name: d.name,
        provider: d.provider,
        ...(d.upstreamUrl === null ? {} : { upstreamUrl: d.upstreamUrl }),
        ...(d.upstreamModel === null ? {} : { upstreamModel: d.upstreamModel }),
        ...(d.apiVersion === null ? {} : { apiVersion: d.apiVersion }),
        ...(d.defaultCompletionReservation === null ? {} : { defaultCompletionReservation: d.defaultCompletionReservation }),
        ...(Object.keys(d.options).length === 0 ? {} : { options: d.options }),
      })),
      projects: [...r.projects.keys()],
    }));
    const gateways = [...current.gateways.values()].map((g): GatewayDoc => ({
      name: g.gateway.name,
      resource: g.resource,
      instance: g.instance,
      logContent: g.gateway.logContent,
      projects: [...(current.resources.get(g.resource)?.projects.values() ?? [])].filter((p) => p.gatewayStatus === 'enabled').map((p) => p.name),
      limits: [...g.limits.values()].map(({ limit, project, deployment }): LimitDoc => ({
        project,
        ...(deployment === null ? {} : { deployment }),
        ...(limit.tokensPerMinute === null ? {} : { tokensPerMinute: limit.tokensPerMinute }),
        ...(limit.tokenQuota === null ? {} : { tokenQuota: limit.tokenQuota, quotaPeriod: limit.quotaPeriod }),
      })),
    }));
    return { version: CONFIG_VERSION, resources, gateways };
  }

  async apply(actor: Principal, doc: ConfigDocument, options: ApplyOptions): Promise<ApplyResult> {
    const { secrets, providers } = this.deps;
    const current = await readCurrentConfig(this.deps.store);
    const plan = planConfig(doc, current, { prune: options.prune, providers, openSecret: (sealed) => secrets.open(sealed) });
    if (plan.problems.length > 0) {
      const [first, ...rest] = plan.problems;
      const more = rest.length === 0 ? '' : ` (and ${rest.length} more: ${rest.join('; ')})`;
      throw new TollgateError('validation_failed', `the config cannot be applied, nothing was changed: ${first}${more}`);
    }
    const forbidden = plan.steps.find((s) => !can(actor, s.permission, s.resource));
    if (forbidden) {
      throw new TollgateError(
        'forbidden',
        `the ${actor.role} role of admin token "${actor.name}" does not allow ${forbidden.permission.replace('-', ' ')}, which ${forbidden.change.action} ${forbidden.change.target} needs; nothing was changed`,
      );
    }
    const result: ApplyResult = { dryRun: options.dryRun, prune: options.prune, changes: plan.steps.map((s) => s.change), keys: [] };
    if (options.dryRun) return result;
    // One snapshot for the whole batch, published once at its end, whether it got through or not.
    const ctx = { service: this.deps.service.unpublished(), actor, keys: result.keys };
    try {
      await this.run(plan.steps, ctx);
    } finally {
      if (plan.steps.length > 0) await this.deps.service.publish();
    }
    return result;
  }

  private async run(steps: PlannedStep[], ctx: StepContext): Promise<void> {
    for (const [done, step] of steps.entries()) {
      try {
        await step.run(ctx);
      } catch (err) {
        if (!(err instanceof TollgateError)) throw err;
        // Each change is committed on its own: say how far it got. Applying again resumes.
        const keys = ctx.keys.length === 0 ? '' : ` Keys of the projects created: ${ctx.keys.map((k) => `${k.resource}/${k.project} ${k.primary}`).join(', ')}.`;
        throw new TollgateError(
          err.code,
          `applied ${done} of ${steps.length} changes, then ${step.change.action} ${step.change.target} failed: ${err.message}. Fix it and apply again: the applied changes are kept.${keys}`,
          err.options,
        );
      }
    }
  }
}
