import type { BackendSource } from '../../observability/metrics.js';
import type { ConfigSnapshot, DeploymentRuntime } from '../../snapshot/config-snapshot.js';
import type { BackendPicker } from './backend-picker.js';

const STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** The deployments with backends a snapshot serves, each once. */
export function* servedPools(snapshot: ConfigSnapshot): Generator<DeploymentRuntime & Required<Pick<DeploymentRuntime, 'pool'>>> {
  const seen = new Set<unknown>();
  for (const project of snapshot.projectsByKeyHash.values()) {
    // Projects of one resource share its deployments' map.
    if (seen.has(project.deployments)) continue;
    seen.add(project.deployments);
    for (const d of project.deployments.values()) if (d.pool) yield d as DeploymentRuntime & Required<Pick<DeploymentRuntime, 'pool'>>;
  }
}

/** The backend metrics of this node: the picker's counts, and the breakers of the pools served. */
export function backendMetricsSource(picker: BackendPicker, snapshots: { readonly current: ConfigSnapshot }): BackendSource {
  return {
    counts: () => [...picker.traffic.all()].map(([, c]) => c),
    *states() {
      const now = Date.now();
      for (const d of servedPools(snapshots.current)) {
        for (const b of d.pool.backends) yield { deployment: d.name, backend: b.name, state: STATE[picker.breakers.phase(b.key, now)] };
      }
    },
  };
}
