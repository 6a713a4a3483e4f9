import type { Gateway, Project } from './model.js';

/**
 * A gateway's default project limit, as the limiter and the admin API know it. It has no row of
 * its own: the config snapshot makes one limit per project it applies to, whose identity is
 * derived from the gateway and the project, so its counters survive every rebuild of the snapshot
 * (and a change of the default's values), as a real limit's survive an edit.
 */

export const DEFAULT_LIMIT_ID_PREFIX = 'dflt_';
/** The limiter's id of the default limit of one project on one gateway (the store derives it in SQL too). */
export const defaultLimitId = (gatewayId: string, projectId: string): string => `${DEFAULT_LIMIT_ID_PREFIX}${gatewayId}_${projectId}`;

/**
 * Limits with one tag can apply to one request together: every limit of one project on one
 * gateway (real or default) shares it, so the Redis limiter keeps them in one slot.
 */
export const limitTag = (gatewayId: string, projectId: string): string => `${gatewayId}/${projectId}`;

/**
 * How the limiter knows a limit: its id and its tag. The config snapshot and the admin API's limit
 * status both take it from here, so a status always reads the counters the data plane writes.
 */
export const limitIdentity = (limit: { id: string; gatewayId: string; projectId: string }) => ({ id: limit.id, tag: limitTag(limit.gatewayId, limit.projectId) });

/** The limiter's id of a limit's money budget: counted apart from its tokens, in micro-units (the store derives it in SQL too). */
export const BUDGET_RULE_SUFFIX = '~budget';
export const budgetRuleId = (limitId: string): string => `${limitId}${BUDGET_RULE_SUFFIX}`;

/** The identity of the gateway default's limit of one project (see defaultLimitId). */
export const defaultLimitIdentity = (gatewayId: string, projectId: string) => ({ id: defaultLimitId(gatewayId, projectId), tag: limitTag(gatewayId, projectId) });

/** How the admin API addresses the default limit of a project: `default:<project>`. */
export const DEFAULT_LIMIT_PREFIX = 'default:';
export const defaultLimitAddress = (projectName: string): string => `${DEFAULT_LIMIT_PREFIX}${projectName}`;

/** The project named by a `default:<project>` address; null for any other id. */
export function projectOfDefaultAddress(id: string): string | null {
  return id.startsWith(DEFAULT_LIMIT_PREFIX) ? id.slice(DEFAULT_LIMIT_PREFIX.length) : null;
}

/**
 * Whether a gateway's default caps a project: the gateway has one, the project is enabled on it,
 * and it has no project-wide limit of its own (which replaces the default). The snapshot applies
 * it by this rule and the admin API reports it by the same.
 */
export function gatewayDefaultApplies(
  gateway: Pick<Gateway, 'defaultProjectLimit'>,
  project: Pick<Project, 'gatewayStatus'>,
  hasOwnProjectWideLimit: boolean,
): boolean {
  return gateway.defaultProjectLimit !== null && project.gatewayStatus === 'enabled' && !hasOwnProjectWideLimit;
}
