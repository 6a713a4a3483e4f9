import type { AdminService } from '../controlplane/admin-service.js';
import { SYSTEM_PRINCIPAL } from '../controlplane/permissions.js';
import type { Store } from '../store/store.js';

export const DEMO = {
  resource: 'demo',
  deployment: 'demo-chat',
  project: 'demo-project',
  gateway: 'demo-gateway',
} as const;

/**
 * Seeds a store that has no resources yet with a working setup: a simulated model behind a
 * gateway and one project. Returns the project's primary key (shown once), or null when the store
 * already had data.
 */
export async function seedDemo(store: Store, service: AdminService): Promise<string | null> {
  if ((await store.listResources()).length > 0) return null;
  const actor = { ...SYSTEM_PRINCIPAL, name: 'demo-seed' };
  await service.resources.create(actor, { name: DEMO.resource, description: 'Demo resource with a simulated model' });
  await service.deployments.create(actor, DEMO.resource, {
    name: DEMO.deployment,
    provider: 'simulated',
    options: { latencyMs: 150, chunkDelayMs: 20, completionTokens: 24 },
  });
  await service.gateways.create(actor, { name: DEMO.gateway, resource: DEMO.resource, instance: { mode: 'new' } });
  const project = await service.projects.create(actor, DEMO.resource, DEMO.project);
  await service.limits.create(actor, DEMO.gateway, {
    project: DEMO.project,
    tokensPerMinute: 20_000,
    tokenQuota: 1_000_000,
    quotaPeriod: 'daily',
  });
  return project.keys.primary;
}
