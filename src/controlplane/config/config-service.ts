import { TollgateError } from '../../errors.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { SecretBox } from '../../security/secret-box.js';
import type { Store } from '../../store/store.js';
import type { AdminService } from '../admin-service.js';
import { permissionWords, roleRefusal } from '../admin-errors.js';
import { can, type Principal } from '../permissions.js';
import type { LimitValues } from '../../domain/model.js';
import type { Pricing } from '../../accounting/pricing.js';
import { budgetView } from '../views.js';
import { CONFIG_VERSION, type ConfigDocument, type DeploymentDoc, type GatewayDoc, type LimitDoc, type LimitValuesDoc } from './document.js';
import { planConfig, type ConfigChange, type CreatedKeys, type PlannedStep, type StepContext } from './plan.js';
import { readCurrentConfig } from './state.js';
import { exportAgents } from './agent-plan.js';
import { exportMcpGateway, exportMcpServers } from './mcp-config.js';

export interface ApplyOptions {
  /** Report the changes without making them. */
  dryRun: boolean;
  /** Within the resources the document names, delete the deployments and projects their lists leave out. */
  prune: boolean;
  /** Also delete the gateways and resources the document does not name (of the kinds it lists). */
  pruneUnnamed?: boolean;
}

export interface ApplyResult {
  dryRun: boolean;
  prune: boolean;
  pruneUnnamed: boolean;
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
        // A pool's backends without their keys (as the deployment's own key is left out).
        ...(d.backends && d.backends.length > 0
          ? {
              backends: d.backends.map((b) => ({
                name: b.name,
                ...(b.provider === null ? {} : { provider: b.provider }),
                upstreamUrl: b.upstreamUrl,
                ...(b.upstreamModel === null ? {} : { upstreamModel: b.upstreamModel }),
                ...(b.apiVersion === null ? {} : { apiVersion: b.apiVersion }),
                priority: b.priority,
                weight: b.weight,
                ...(b.pricing ? { pricing: b.pricing } : {}),
              })),
            }
          : {}),
        ...(d.retry ? { retry: d.retry } : {}),
        ...(d.circuitBreaker ? { circuitBreaker: d.circuitBreaker } : {}),
        ...(d.pricing ? { pricing: pricingDoc(d.pricing) } : {}),
      })),
      projects: [...r.projects.keys()],
      ...(current.mcp ? exportMcpServers(current.mcp, r.resource.name) : {}),
    }));
    const gateways = [...current.gateways.values()].map((g): GatewayDoc => ({
      name: g.gateway.name,
      resource: g.resource,
      instance: g.instance,
      logContent: g.gateway.logContent,
      ...(g.gateway.defaultProjectLimit === null ? {} : { defaultProjectLimit: limitValuesDoc(g.gateway.defaultProjectLimit) }),
      ...(g.gateway.corsOrigins.length === 0 ? {} : { corsOrigins: g.gateway.corsOrigins }),
      projects: [...(current.resources.get(g.resource)?.projects.values() ?? [])].filter((p) => p.gatewayStatus === 'enabled').map((p) => p.name),
      // By project, then deployment (all deployments first): the order a file is read in, never
      // the order of creation (limits made in one millisecond would swap from one export to the next).
      limits: [...g.limits.values()]
        .sort((a, b) => a.project.localeCompare(b.project) || (a.deployment ?? '').localeCompare(b.deployment ?? ''))
        .map(({ limit, project, deployment }): LimitDoc => ({
          project,
          ...(deployment === null ? {} : { deployment }),
          ...limitValuesDoc(limit),
          // Written as the document gives it ({amount, currency, period}), not as parsed (micro-units).
          ...(limit.budget ? { budget: budgetView(limit.budget) as unknown as LimitDoc['budget'] } : {}),
        })),
      ...exportAgents(g.agents),
      ...(current.mcp ? exportMcpGateway(current.mcp, g.gateway.name) : {}),
    }));
    return { version: CONFIG_VERSION, resources, gateways };
  }

  async apply(actor: Principal, doc: ConfigDocument, options: ApplyOptions): Promise<ApplyResult> {
    const result: ApplyResult = { dryRun: options.dryRun, prune: options.prune, pruneUnnamed: options.pruneUnnamed ?? false, changes: [], keys: [] };
    // The changes run on a view of the service that publishes nothing: the batch publishes one
    // snapshot at its end, whether it got through or not.
    const ctx: StepContext = { service: this.deps.service.unpublished(), actor, keys: result.keys };
    try {
      for (let attempt = 1; ; attempt++) {
        const steps = await this.plan(actor, doc, options);
        if (options.dryRun) {
          result.changes = steps.map((s) => s.change);
          return result;
        }
        try {
          await this.run(steps, ctx, result.changes);
          return result;
        } catch (err) {
          // Another admin (or a node applying the same file at start-up) got there first:
          // plan again from what is now there, which leaves less or nothing to do.
          if (!(err instanceof TollgateError) || !RACES.has(err.code) || attempt === MAX_ATTEMPTS) throw this.partial(err, result);
        }
      }
    } finally {
      if (result.changes.length > 0) await this.deps.service.publish();
    }
  }

  /** The steps that make the store match the document; throws when it has problems or the actor may not. */
  private async plan(actor: Principal, doc: ConfigDocument, options: ApplyOptions): Promise<PlannedStep[]> {
    const { secrets, providers } = this.deps;
    const current = await readCurrentConfig(this.deps.store);
    const plan = planConfig(doc, current, { prune: options.prune, pruneUnnamed: options.pruneUnnamed ?? false, providers, openSecret: (sealed) => secrets.open(sealed) });
    if (plan.problems.length > 0) {
      const [first, ...rest] = plan.problems;
      const more = rest.length === 0 ? '' : ` (and ${rest.length} more: ${rest.join('; ')})`;
      throw new TollgateError('validation_failed', `the config cannot be applied, nothing was changed: ${first}${more}`);
    }
    const keyed = plan.keyedResources.find((resource) => !can(actor, 'manage-resources', resource));
    if (keyed !== undefined) {
      throw roleRefusal(actor, `managing resources, which naming an upstreamApiKey of resource "${keyed}" needs; nothing was changed`);
    }
    const forbidden = plan.steps.find((s) => !can(actor, s.permission, s.resource));
    if (forbidden) {
      throw roleRefusal(actor, `${permissionWords(forbidden.permission)}, which ${forbidden.change.action} ${forbidden.change.target} needs; nothing was changed`);
    }
    return plan.steps;
  }

  private async run(steps: PlannedStep[], ctx: StepContext, applied: ConfigChange[]): Promise<void> {
    for (const step of steps) {
      try {
        await step.run(ctx);
      } catch (err) {
        if (err instanceof TollgateError) throw new FailedStep(err, step.change);
        throw err;
      }
      applied.push(step.change);
    }
  }

  /** Each change is committed on its own: the error says how far the apply got. Applying again resumes. */
  private partial(err: unknown, result: ApplyResult): unknown {
    if (!(err instanceof FailedStep)) return err;
    const { cause, change } = err;
    if (result.changes.length === 0 && result.keys.length === 0) return cause;
    const keys = result.keys.length === 0 ? '' : ` Keys of the projects created: ${result.keys.map((k) => `${k.resource}/${k.project} ${k.primary}`).join(', ')}.`;
    return new TollgateError(
      cause.code,
      `applied ${result.changes.length} changes, then ${change.action} ${change.target} failed: ${cause.message}. Fix it and apply again: the applied changes are kept.${keys}`,
      cause.options,
    );
  }
}

/** Prices as a document writes them (the catalog's note on where they came from is the store's). */
function pricingDoc({ source: _source, ...prices }: Pricing): Pricing {
  return prices;
}

/** A limit's values as a document writes them: only those set. */
function limitValuesDoc(v: LimitValues): LimitValuesDoc {
  return {
    ...(v.tokensPerMinute === null ? {} : { tokensPerMinute: v.tokensPerMinute }),
    ...(v.tokenQuota === null ? {} : { tokenQuota: v.tokenQuota, quotaPeriod: v.quotaPeriod }),
  };
}

/** A change the service refused, with the change it was. */
class FailedStep extends TollgateError {
  constructor(
    override readonly cause: TollgateError,
    readonly change: ConfigChange,
  ) {
    super(cause.code, cause.message, cause.options);
  }
}

/** Codes that mean another writer changed the same thing between the plan and the change. */
const RACES: ReadonlySet<string> = new Set(['already_exists', 'limit_exists', 'instance_in_use', 'resource_has_gateway', 'not_found']);
const MAX_ATTEMPTS = 3;
