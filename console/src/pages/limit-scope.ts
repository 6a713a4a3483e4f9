import type { Limit } from '../api-types';

/** "early on sim-chat", "early on all deployments": how a limit is named in labels and messages. */
export const scopeOf = (l: Pick<Limit, 'project' | 'deployment'>) => `${l.project} on ${l.deployment ?? 'all deployments'}`;
