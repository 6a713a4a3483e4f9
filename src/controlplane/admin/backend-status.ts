import type { Deployment } from '../../domain/model.js';
import type { BackendPicker } from '../../dataplane/backends/backend-picker.js';
import { breakerPolicy } from '../../snapshot/backend-policy.js';
import type { BackendStatusView, DeploymentBackendsView } from '../api-types.js';

/**
 * A deployment's backends as this node sees them: breaker state (shared by the nodes when the
 * breakers live in Redis) and the calls this node sent (per node). Ordered as the data plane
 * tries them: by priority, then as configured. A one-upstream deployment is one backend named
 * after the deployment, keyed by its id (as the data plane counts it), never tripped.
 */
export function deploymentBackends(d: Deployment, picker: BackendPicker, nowMs = Date.now()): DeploymentBackendsView {
  const policy = breakerPolicy(d.circuitBreaker);
  const rows =
    d.backends && d.backends.length > 0
      ? d.backends
          .map((b, order) => ({ b, order }))
          .sort((x, y) => x.b.priority - y.b.priority || x.order - y.order)
          .map(({ b }) => ({ name: b.name, priority: b.priority, weight: b.weight, key: `${d.id}/${b.name}`, breaker: true }))
      : [{ name: d.name, priority: 1, weight: 1, key: d.id, breaker: false }];
  const sent = rows.map((r) => picker.traffic.sent(r.key));
  const total = sent.reduce((a, b) => a + b, 0);
  const items = rows.map((r, i): BackendStatusView => {
    const view = r.breaker ? picker.breakers.inspect(r.key, policy, nowMs) : { phase: 'closed' as const, openUntil: null, recentFailures: 0 };
    return {
      name: r.name,
      priority: r.priority,
      weight: r.weight,
      state: view.phase,
      openUntil: view.openUntil === null ? null : new Date(view.openUntil).toISOString(),
      recentFailures: view.recentFailures,
      requests: sent[i]!,
      share: total === 0 ? 0 : sent[i]! / total,
    };
  });
  return { items };
}
