import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditView, GatewayProjectView, InstanceView, LimitView } from '../../src/controlplane/api-types.js';
import { chat, expectError, expectStatus } from '../support/admin-helpers.js';
import { seedBasic, startGateway, type Seeded, type TestGateway } from '../support/harness.js';

let gw: TestGateway;
let seeded: Seeded;

beforeAll(async () => {
  gw = await startGateway();
  seeded = await seedBasic(gw);
});
afterAll(async () => {
  await gw?.close();
});

async function auditOf(action: string, target: string): Promise<AuditView> {
  const items = expectStatus<{ items: AuditView[] }>(await gw.admin('GET', '/audit?limit=500'), 200).items;
  const found = items.find((e) => e.action === action && e.target === target);
  expect(found, `${action} ${target}`).toBeDefined();
  return found!;
}

describe('limits addressed by project and deployment', () => {
  it('gets, patches and deletes the limit of a project for all deployments and for one', async () => {
    const wide = expectStatus<LimitView>(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 5000 }), 201);
    const one = expectStatus<LimitView>(await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', deployment: 'sim-chat', tokenQuota: 9000, quotaPeriod: 'daily' }), 201);
    expect(expectStatus<LimitView>(await gw.admin('GET', '/gateways/gw1/projects/p1/limit'), 200).id).toBe(wide.id);
    expect(expectStatus<LimitView>(await gw.admin('GET', '/gateways/gw1/projects/p1/deployments/sim-chat/limit'), 200).id).toBe(one.id);

    const patched = expectStatus<LimitView>(await gw.admin('PATCH', '/gateways/gw1/projects/p1/limit', { tokensPerMinute: 6000 }), 200);
    expect(patched.tokensPerMinute).toBe(6000);
    // The audit log reads old → new.
    const entry = await auditOf('limit.update', `gateways/gw1/limits/${wide.id}`);
    expect(entry.detail).toEqual({ tokensPerMinute: 6000 });
    expect(entry.previous).toEqual({ tokensPerMinute: 5000 });

    expectStatus(await gw.admin('DELETE', '/gateways/gw1/projects/p1/deployments/sim-chat/limit'), 204);
    const removed = await auditOf('limit.delete', `gateways/gw1/limits/${one.id}`);
    expect(removed.previous).toMatchObject({ project: 'p1', deployment: 'sim-chat', tokenQuota: 9000, quotaPeriod: 'daily' });
    const missing = expectError(await gw.admin('GET', '/gateways/gw1/projects/p1/deployments/sim-chat/limit'), 404, 'not_found');
    expect(missing).toContain('project "p1" has no limit for deployment "sim-chat" on gateway "gw1"');
    expectError(await gw.admin('GET', '/gateways/gw1/projects/nope/limit'), 404, 'not_found');
    expectStatus(await gw.admin('DELETE', '/gateways/gw1/projects/p1/limit'), 204);
  });

  it('records the old gateway status of a project', async () => {
    expectStatus<GatewayProjectView>(await gw.admin('DELETE', '/gateways/gw1/projects/p1'), 200);
    const entry = await auditOf('gateway.project.disable', 'gateways/gw1/projects/p1');
    expect(entry.previous).toEqual({ gatewayStatus: 'enabled' });
    expect(entry.detail).toEqual({ gatewayStatus: 'disabled' });
    expectStatus(await gw.admin('PUT', '/gateways/gw1/projects/p1'), 200);
  });
});

describe('clean-up in one step', () => {
  it('refuses to delete a gateway with enabled projects, naming the one-step option', async () => {
    const message = expectError(await gw.admin('DELETE', '/gateways/gw1'), 409, 'gateway_has_enabled_projects');
    expect(message).toContain('p1');
    expect(message).toContain('?disableProjects=true');
    expect(message).toContain('--disable-projects');
    expectError(await gw.admin('DELETE', '/gateways/gw1?disableProjects=maybe'), 400, 'validation_failed');
  });

  it('an instance backing a gateway cannot be deleted', async () => {
    const instance = expectStatus<{ instance: string }>(await gw.admin('GET', '/gateways/gw1'), 200).instance;
    const message = expectError(await gw.admin('DELETE', `/instances/${instance}`), 409, 'instance_in_use');
    expect(message).toContain('backs gateway "gw1"');
    expectError(await gw.admin('DELETE', '/instances/no-such'), 404, 'not_found');
  });

  it('disables every project and deletes the gateway with disableProjects=true; then its instance can go', async () => {
    expectStatus(await gw.admin('POST', '/resources/r1/projects', { name: 'p2' }), 201);
    expect((await chat(gw.url, seeded.key)).status).toBe(200);
    const instance = expectStatus<{ instance: string }>(await gw.admin('GET', '/gateways/gw1'), 200).instance;

    expectStatus(await gw.admin('DELETE', '/gateways/gw1?disableProjects=true'), 204);
    expectError(await gw.admin('GET', '/gateways/gw1'), 404, 'not_found');
    const projects = expectStatus<{ items: { name: string; gatewayStatus: string }[] }>(await gw.admin('GET', '/resources/r1/projects'), 200).items;
    expect(projects.map((p) => [p.name, p.gatewayStatus])).toEqual([
      ['p1', 'disabled'],
      ['p2', 'disabled'],
    ]);
    const entry = await auditOf('gateway.delete', 'gateways/gw1');
    expect(entry.detail).toEqual({ disabledProjects: ['p1', 'p2'] });
    expect(entry.previous).toMatchObject({ instance });

    // The instance now backs nothing: it is offered for reuse, and can be deleted.
    const listed = expectStatus<{ items: InstanceView[] }>(await gw.admin('GET', '/instances'), 200).items;
    expect(listed.find((i) => i.name === instance)).toBeDefined();
    expectStatus(await gw.admin('DELETE', `/instances/${instance}`), 204);
    const after = expectStatus<{ items: InstanceView[] }>(await gw.admin('GET', '/instances'), 200).items;
    expect(after.find((i) => i.name === instance)).toBeUndefined();
    expect((await auditOf('instance.delete', `instances/${instance}`)).actor).toBe('env:TOLLGATE_ADMIN_TOKEN');
  });

  it('a viewer may delete neither', async () => {
    const viewer = expectStatus<{ token: string }>(await gw.admin('POST', '/tokens', { name: 'v', role: 'viewer' }), 201).token;
    expectStatus(await gw.admin('POST', '/instances', { name: 'spare' }), 201);
    expectError(await gw.admin('DELETE', '/instances/spare', undefined, viewer), 403, 'forbidden');
    // Revoking it records what was revoked.
    const id = expectStatus<{ items: { id: string; name: string }[] }>(await gw.admin('GET', '/tokens'), 200).items.find((t) => t.name === 'v')!.id;
    expectStatus(await gw.admin('DELETE', `/tokens/${id}`), 204);
    expect((await auditOf('admin-token.delete', `tokens/${id}`)).previous).toEqual({ name: 'v', role: 'viewer', resources: null });
  });
});
