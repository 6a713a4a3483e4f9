import type { Limit, LimitValues } from '../api-types';
import { formatNumber } from '../format';

/** "early on sim-chat", "early on all deployments": how a limit is named in labels and messages. */
export const scopeOf = (l: Pick<Limit, 'project' | 'deployment'>) => `${l.project} on ${l.deployment ?? 'all deployments'}`;

/** "2,000 tokens/min · 50,000 tokens daily": a limit's values in a sentence or a cell. */
export function limitValuesText(v: LimitValues): string {
  const parts: string[] = [];
  if (v.tokensPerMinute !== null) parts.push(`${formatNumber(v.tokensPerMinute)} tokens/min`);
  if (v.tokenQuota !== null) parts.push(`${formatNumber(v.tokenQuota)} tokens ${v.quotaPeriod ?? ''}`.trim());
  return parts.join(' · ');
}
