import { defaultLimitAddress, gatewayDefaultApplies } from '../domain/default-limit.js';
import { formatMicros } from '../accounting/pricing.js';
import type { AdminToken, AuditEntry, Budget, Deployment, Gateway, Instance, Limit, LimitValues, Project, Resource } from '../domain/model.js';
import type {
  AdminTokenView,
  BudgetView,
  Money,
  AuditView,
  DeploymentView,
  GatewayProjectView,
  GatewayView,
  InstanceView,
  LimitView,
  ProjectLimitView,
  ProjectView,
  ResourceView,
} from './api-types.js';

/** Builds the admin API's JSON (its shapes are declared in api-types.ts). Secrets never appear here. */

export const instanceView = (i: Instance, gatewayName: string | null): InstanceView => ({
  name: i.name,
  gateway: gatewayName,
  eligible: gatewayName === null,
  createdAt: i.createdAt,
});

export const resourceView = (r: Resource): ResourceView => ({
  name: r.name,
  description: r.description,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const deploymentView = (d: Deployment, resourceName: string): DeploymentView => ({
  name: d.name,
  resource: resourceName,
  provider: d.provider,
  upstreamUrl: d.upstreamUrl,
  upstreamModel: d.upstreamModel,
  apiVersion: d.apiVersion,
  hasUpstreamApiKey: d.upstreamApiKeySealed !== null,
  defaultCompletionReservation: d.defaultCompletionReservation,
  options: d.options,
  ...(d.backends && d.backends.length > 0
    ? {
        backends: d.backends.map((b) => ({
          name: b.name,
          provider: b.provider,
          upstreamUrl: b.upstreamUrl,
          upstreamModel: b.upstreamModel,
          hasUpstreamApiKey: b.upstreamApiKeySealed !== null,
          apiVersion: b.apiVersion,
          priority: b.priority,
          weight: b.weight,
          ...(b.pricing ? { pricing: b.pricing } : {}),
        })),
        retry: d.retry ?? null,
        circuitBreaker: d.circuitBreaker ?? null,
      }
    : {}),
  ...(d.pricing ? { pricing: d.pricing } : {}),
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

export const projectView = (p: Project, resourceName: string): ProjectView => ({
  name: p.name,
  resource: resourceName,
  gatewayStatus: p.gatewayStatus,
  keyHints: { primary: p.primaryKey.hint, secondary: p.secondaryKey.hint },
  createdAt: p.createdAt,
});

/** Which limit caps a project's use of all deployments: `own` is its project-wide limit, if any. */
export function projectLimitView(gateway: Gateway, project: Project, own: Limit | undefined): ProjectLimitView | null {
  if (own) return { source: 'project', id: own.id, ...limitValuesView(own) };
  if (gateway.defaultProjectLimit && gatewayDefaultApplies(gateway, project, false)) {
    return { source: 'gateway-default', id: defaultLimitAddress(project.name), ...limitValuesView(gateway.defaultProjectLimit) };
  }
  return null;
}

export const gatewayProjectView = (p: Project, limit: ProjectLimitView | null): GatewayProjectView => ({ name: p.name, gatewayStatus: p.gatewayStatus, limit });

const limitValuesView = (v: LimitValues): LimitValues => ({ tokensPerMinute: v.tokensPerMinute, tokenQuota: v.tokenQuota, quotaPeriod: v.quotaPeriod });

export const gatewayView = (g: Gateway, resourceName: string, instanceName: string): GatewayView => ({
  name: g.name,
  resource: resourceName,
  instance: instanceName,
  status: g.status,
  logContent: g.logContent,
  defaultProjectLimit: g.defaultProjectLimit && limitValuesView(g.defaultProjectLimit),
  corsOrigins: [...g.corsOrigins],
  createdAt: g.createdAt,
});

export const limitView = (l: Limit, projectName: string, deploymentName: string | null): LimitView => ({
  id: l.id,
  project: projectName,
  deployment: deploymentName,
  tokensPerMinute: l.tokensPerMinute,
  tokenQuota: l.tokenQuota,
  quotaPeriod: l.quotaPeriod,
  budget: l.budget ? budgetView(l.budget) : null,
  createdAt: l.createdAt,
  updatedAt: l.updatedAt,
});

/** A budget as the API shows it: its amount as an exact decimal string. */
export const budgetView = (b: Budget): BudgetView => ({ amount: trimAmount(formatMicros(b.micros)), currency: b.currency, period: b.period });

/** Micro-units as the API shows money: both exact. */
export const money = (micros: number): Money => ({ micros, amount: formatMicros(micros) });

const trimAmount = (s: string) => s.replace(/\.?0+$/, '');

export const adminTokenView = (t: AdminToken): AdminTokenView => ({
  id: t.id,
  name: t.name,
  role: t.role,
  resources: t.resources,
  hint: t.hint,
  createdAt: t.createdAt,
});

export const auditView = (e: AuditEntry): AuditView => ({ ...e, previous: e.previous ?? null });

export type { AdminTokenView, DeploymentView, GatewayProjectView, GatewayView, InstanceView, LimitView, ProjectLimitView, ProjectView, ResourceView };
