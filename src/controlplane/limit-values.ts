import type { LimitValues } from '../domain/model.js';
import { TollgateError } from '../errors.js';

/**
 * The rules of a limit's token values, for a project's limit and a gateway's default alike: at
 * least one of tokensPerMinute and tokenQuota, and a quota always with its period. `field` names
 * where the values sit in the request body (e.g. `defaultProjectLimit`), for the message and param.
 */
export function checkLimitValues(v: LimitValues, field?: string, hasBudget = false): LimitValues {
  const problem = limitValuesProblem(v, hasBudget);
  if (problem) {
    const { message, param } = problem;
    throw new TollgateError('validation_failed', field ? `${field}: ${message}` : message, { param: field ? `${field}.${param}` : param });
  }
  return v;
}

/** What breaks those rules, if anything: the message and the field at fault. A config apply checks a document by the same. */
export function limitValuesProblem(v: LimitValues, hasBudget = false): { message: string; param: string } | null {
  // A limit with a money budget may carry no token values at all.
  if (v.tokensPerMinute === null && v.tokenQuota === null && !hasBudget) {
    return { message: 'a limit needs tokensPerMinute, tokenQuota, or both (or a money budget)', param: 'tokensPerMinute' };
  }
  if (v.tokenQuota !== null && v.quotaPeriod === null) {
    return { message: 'quotaPeriod is required with tokenQuota (hourly, daily, weekly, monthly or yearly)', param: 'quotaPeriod' };
  }
  if (v.tokenQuota === null && v.quotaPeriod !== null) return { message: 'quotaPeriod only makes sense with tokenQuota', param: 'tokenQuota' };
  return null;
}

/** Values after a patch: a field given replaces the current one (null clears it), one not given stays. */
export function patchLimitValues(current: LimitValues | null, patch: Partial<LimitValues>): LimitValues {
  return {
    tokensPerMinute: patch.tokensPerMinute !== undefined ? patch.tokensPerMinute : (current?.tokensPerMinute ?? null),
    tokenQuota: patch.tokenQuota !== undefined ? patch.tokenQuota : (current?.tokenQuota ?? null),
    // Clearing the quota clears its period with it.
    quotaPeriod: patch.quotaPeriod !== undefined ? patch.quotaPeriod : patch.tokenQuota === null ? null : (current?.quotaPeriod ?? null),
  };
}
