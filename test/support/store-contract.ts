import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLimitId } from '../../src/domain/default-limit.js';
import { newId } from '../../src/domain/ids.js';
import type { AdminToken, AuditEntry, Deployment, Gateway, Instance, Limit, Project, Resource } from '../../src/domain/model.js';
import { UniqueViolationError, type Store } from '../../src/store/store.js';

/*
 * The store contract: every Store implementation must pass it (test/store.test.ts runs it on
 * SQLite, test/store-postgres.test.ts on PostgreSQL). `open` answers a migrated, empty store.
 */

export const at = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();
let seq = 0;
const uniq = (prefix: string) => `${prefix}-${++seq}`;
const hex64 = (n: number) => n.toString(16).padStart(64, '0');

export function instance(over: Partial<Instance> = {}): Instance {
  return { id: newId('ins'), name: uniq('inst'), createdAt: at(1), ...over };
}
export function resource(over: Partial<Resource> = {}): Resource {
  return { id: newId('res'), name: uniq('res'), description: null, createdAt: at(1), updatedAt: at(1), ...over };
}
export function deployment(resourceId: string, over: Partial<Deployment> = {}): Deployment {
  return {
    id: newId('dep'),
    resourceId,
    name: uniq('dep'),
    provider: 'simulated',
    upstreamUrl: null,
    upstreamModel: null,
    upstreamApiKeySealed: null,
    apiVersion: null,
    defaultCompletionReservation: null,
    options: {},
    createdAt: at(1),
    updatedAt: at(1),
    ...over,
  };
}
let keySeq = 0;
export function project(resourceId: string, over: Partial<Project> = {}): Project {
  return {
    id: newId('prj'),
    resourceId,
    name: uniq('prj'),
    gatewayStatus: 'disabled',
    primaryKey: { hash: hex64(++keySeq), hint: 'tgk_aaaa' },
    secondaryKey: { hash: hex64(++keySeq), hint: 'tgk_bbbb' },
    createdAt: at(1),
    ...over,
  };
}
export function gateway(resourceId: string, instanceId: string, over: Partial<Gateway> = {}): Gateway {
  return {
    id: newId('gw'),
    name: uniq('gw'),
    resourceId,
    instanceId,
    status: 'provisioning',
    logContent: false,
    defaultProjectLimit: null,
    corsOrigins: [],
    createdAt: at(1),
    ...over,
  };
}
export function limit(gatewayId: string, projectId: string, deploymentId: string | null, over: Partial<Limit> = {}): Limit {
  return {
    id: newId('lim'),
    gatewayId,
    projectId,
    deploymentId,
    tokensPerMinute: 1000,
    tokenQuota: null,
    quotaPeriod: null,
    createdAt: at(1),
    updatedAt: at(1),
    ...over,
  };
}
export function adminToken(over: Partial<AdminToken> = {}): AdminToken {
  return { id: newId('tok'), name: uniq('token'), role: 'viewer', resources: null, hash: hex64(++keySeq), hint: 'tga_xxxx', createdAt: at(1), ...over };
}

/** A gateway with everything it needs: instance, resource, deployment, project. */
export async function world(store: Store) {
  const i = instance();
  const r = resource();
  const d = deployment(r.id);
  const p = project(r.id);
  const g = gateway(r.id, i.id);
  await store.insertInstance(i);
  await store.insertResource(r);
  await store.insertDeployment(d);
  await store.insertProject(p);
  await store.insertGateway(g);
  return { i, r, d, p, g };
}

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('names its dialect', () => {
      expect(['sqlite', 'postgres']).toContain(store.dialect);
    });

    it('migrate again is a no-op that keeps data and version', async () => {
      const r = resource();
      await store.insertResource(r);
      const version = await store.bumpConfigVersion();
      await store.migrate();
      await store.migrate();
      expect(await store.findResource(r.name)).toEqual(r);
      expect(await store.configVersion()).toBe(version);
    });

    describe('instances', () => {
      it('inserts, finds, lists by name', async () => {
        const b = instance({ name: 'b-inst' });
        const a = instance({ name: 'a-inst' });
        await store.insertInstance(b);
        await store.insertInstance(a);
        expect(await store.findInstance('a-inst')).toEqual(a);
        expect(await store.findInstance('nope')).toBeUndefined();
        expect(await store.listInstances()).toEqual([a, b]);
      });

      it('raises UniqueViolationError on a duplicate name or id', async () => {
        const a = instance();
        await store.insertInstance(a);
        await expect(store.insertInstance(instance({ name: a.name }))).rejects.toBeInstanceOf(UniqueViolationError);
        await expect(store.insertInstance(instance({ id: a.id }))).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.listInstances()).toEqual([a]);
      });
    });

    describe('resources', () => {
      it('inserts, finds, lists, updates and deletes', async () => {
        const r = resource({ name: 'zeta', description: 'first' });
        const q = resource({ name: 'alpha' });
        await store.insertResource(r);
        await store.insertResource(q);
        expect(await store.findResource('zeta')).toEqual(r);
        expect(await store.listResources()).toEqual([q, r]);

        await store.updateResource(r.id, { description: 'second', updatedAt: at(9) });
        expect(await store.findResource('zeta')).toEqual({ ...r, description: 'second', updatedAt: at(9) });
        await store.updateResource(r.id, { description: null });
        expect((await store.findResource('zeta'))?.description).toBeNull();
        expect((await store.findResource('zeta'))?.updatedAt).toBe(at(9));

        await store.deleteResource(q.id);
        expect(await store.findResource('alpha')).toBeUndefined();
        expect(await store.listResources()).toHaveLength(1);
      });

      it('raises UniqueViolationError on a duplicate name', async () => {
        const r = resource();
        await store.insertResource(r);
        await expect(store.insertResource(resource({ name: r.name }))).rejects.toBeInstanceOf(UniqueViolationError);
      });
    });

    describe('deployments', () => {
      it('round-trips every field and filters by resource', async () => {
        const r1 = resource();
        const r2 = resource();
        await store.insertResource(r1);
        await store.insertResource(r2);
        const d = deployment(r1.id, {
          name: 'gpt-4.1',
          provider: 'azure-openai',
          upstreamUrl: 'https://x.openai.azure.com',
          upstreamModel: 'gpt-4.1-prod',
          upstreamApiKeySealed: 'v1.aaa.bbb.ccc',
          apiVersion: '2024-10-21',
          defaultCompletionReservation: 4096,
          options: { latencyMs: 5, nested: { a: [1, 2] } },
        });
        const e = deployment(r2.id, { name: 'gpt-4.1' });
        await store.insertDeployment(d);
        await store.insertDeployment(e);
        expect(await store.findDeployment(r1.id, 'gpt-4.1')).toEqual(d);
        expect(await store.findDeployment(r2.id, 'gpt-4.1')).toEqual(e);
        expect(await store.findDeployment(r1.id, 'nope')).toBeUndefined();
        expect(await store.listDeployments(r1.id)).toEqual([d]);
        expect(await store.listDeployments()).toHaveLength(2);
      });

      it('updates only the fields in the patch; null clears', async () => {
        const r = resource();
        await store.insertResource(r);
        const d = deployment(r.id, { upstreamApiKeySealed: 'v1.x.y.z', upstreamModel: 'm1', options: { a: 1 } });
        await store.insertDeployment(d);
        await store.updateDeployment(d.id, { upstreamModel: 'm2', updatedAt: at(5) });
        expect(await store.findDeployment(r.id, d.name)).toEqual({ ...d, upstreamModel: 'm2', updatedAt: at(5) });
        await store.updateDeployment(d.id, { upstreamApiKeySealed: null, options: { b: 2 }, defaultCompletionReservation: 10 });
        expect(await store.findDeployment(r.id, d.name)).toEqual({
          ...d,
          upstreamModel: 'm2',
          updatedAt: at(5),
          upstreamApiKeySealed: null,
          options: { b: 2 },
          defaultCompletionReservation: 10,
        });
      });

      it('raises UniqueViolationError for a name taken in the same resource; deletes', async () => {
        const r = resource();
        await store.insertResource(r);
        const d = deployment(r.id);
        await store.insertDeployment(d);
        await expect(store.insertDeployment(deployment(r.id, { name: d.name }))).rejects.toBeInstanceOf(UniqueViolationError);
        await store.deleteDeployment(d.id);
        expect(await store.listDeployments(r.id)).toEqual([]);
      });
    });

    describe('projects', () => {
      it('inserts, finds, lists, updates status and keys, deletes', async () => {
        const r = resource();
        await store.insertResource(r);
        const b = project(r.id, { name: 'b' });
        const a = project(r.id, { name: 'a', gatewayStatus: 'enabled' });
        await store.insertProject(b);
        await store.insertProject(a);
        expect(await store.findProject(r.id, 'a')).toEqual(a);
        expect(await store.findProject(r.id, 'zz')).toBeUndefined();
        expect(await store.listProjects(r.id)).toEqual([a, b]);

        await store.updateProject(b.id, { gatewayStatus: 'enabled' });
        expect(await store.findProject(r.id, 'b')).toEqual({ ...b, gatewayStatus: 'enabled' });
        const newKey = { hash: hex64(999_001), hint: 'tgk_new1' };
        await store.updateProject(b.id, { secondaryKey: newKey });
        expect(await store.findProject(r.id, 'b')).toEqual({ ...b, gatewayStatus: 'enabled', secondaryKey: newKey });

        await store.deleteProject(a.id);
        expect(await store.listProjects(r.id)).toHaveLength(1);
        expect(await store.listProjects()).toHaveLength(1);
      });

      it('raises UniqueViolationError for a duplicate name in a resource or a reused key hash', async () => {
        const r = resource();
        const s = resource();
        await store.insertResource(r);
        await store.insertResource(s);
        const p = project(r.id);
        await store.insertProject(p);
        await expect(store.insertProject(project(r.id, { name: p.name }))).rejects.toBeInstanceOf(UniqueViolationError);
        await store.insertProject(project(s.id, { name: p.name }));
        await expect(store.insertProject(project(s.id, { primaryKey: { ...p.primaryKey } }))).rejects.toBeInstanceOf(UniqueViolationError);
        const q = project(s.id);
        await store.insertProject(q);
        await expect(store.updateProject(q.id, { secondaryKey: p.secondaryKey })).rejects.toBeInstanceOf(UniqueViolationError);
      });
    });

    describe('gateways', () => {
      it('inserts, finds by name, resource and instance, sets status, deletes', async () => {
        const { i, r, g } = await world(store);
        expect(await store.findGateway(g.name)).toEqual(g);
        expect(await store.findGatewayByResource(r.id)).toEqual(g);
        expect(await store.findGatewayByInstance(i.id)).toEqual(g);
        expect(await store.findGatewayByResource('res_none')).toBeUndefined();
        expect(await store.listGateways()).toEqual([g]);
        await store.setGatewayStatus(g.id, 'enabled');
        expect((await store.findGateway(g.name))?.status).toBe('enabled');
        await store.deleteGateway(g.id);
        expect(await store.findGateway(g.name)).toBeUndefined();
        expect(await store.findInstance(i.name)).toEqual(i);
        expect(await store.findResource(r.name)).toEqual(r);
      });

      it('updates settings: content logging, the default project limit and the CORS origins, each on its own', async () => {
        const { g } = await world(store);
        const defaultProjectLimit = { tokensPerMinute: 9_000_000_000_000, tokenQuota: 50_000, quotaPeriod: 'daily' as const };
        await store.updateGateway(g.id, { defaultProjectLimit, corsOrigins: ['https://app.example.com', 'http://localhost:5173'] });
        const updated = { ...g, defaultProjectLimit, corsOrigins: ['https://app.example.com', 'http://localhost:5173'] };
        expect(await store.findGateway(g.name)).toEqual(updated);
        await store.updateGateway(g.id, { logContent: true });
        expect(await store.findGateway(g.name)).toEqual({ ...updated, logContent: true });
        await store.updateGateway(g.id, { defaultProjectLimit: { tokensPerMinute: 100, tokenQuota: null, quotaPeriod: null }, corsOrigins: [] });
        expect(await store.findGateway(g.name)).toMatchObject({ defaultProjectLimit: { tokensPerMinute: 100, tokenQuota: null, quotaPeriod: null }, corsOrigins: [] });
        await store.updateGateway(g.id, { defaultProjectLimit: null });
        expect((await store.findGateway(g.name))?.defaultProjectLimit).toBeNull();
        expect((await store.loadConfig()).gateways).toEqual([{ ...updated, logContent: true, defaultProjectLimit: null, corsOrigins: [] }]);
      });

      it('raises UniqueViolationError for a duplicate name, a second gateway on a resource, a reused instance', async () => {
        const { i, r, g } = await world(store);
        const i2 = instance();
        const r2 = resource();
        await store.insertInstance(i2);
        await store.insertResource(r2);
        await expect(store.insertGateway(gateway(r2.id, i2.id, { name: g.name }))).rejects.toBeInstanceOf(UniqueViolationError);
        await expect(store.insertGateway(gateway(r.id, i2.id))).rejects.toBeInstanceOf(UniqueViolationError);
        await expect(store.insertGateway(gateway(r2.id, i.id))).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.listGateways()).toEqual([g]);
      });
    });

    describe('limits', () => {
      it('inserts, finds by id and scope, lists, updates, deletes', async () => {
        const { d, p, g } = await world(store);
        const wide = limit(g.id, p.id, null, { tokensPerMinute: null, tokenQuota: 1_000_000_000_000, quotaPeriod: 'monthly' });
        const own = limit(g.id, p.id, d.id, { createdAt: at(2), updatedAt: at(2) });
        await store.insertLimit(wide);
        await store.insertLimit(own);
        expect(await store.findLimit(g.id, wide.id)).toEqual(wide);
        expect(await store.findLimit('gw_other', wide.id)).toBeUndefined();
        expect(await store.findLimitByScope(g.id, p.id, null)).toEqual(wide);
        expect(await store.findLimitByScope(g.id, p.id, d.id)).toEqual(own);
        expect(await store.findLimitByScope(g.id, p.id, 'dep_none')).toBeUndefined();
        expect(await store.listLimits(g.id)).toEqual([wide, own]);
        expect(await store.listLimits()).toEqual([wide, own]);

        await store.updateLimit(own.id, { tokenQuota: 500, quotaPeriod: 'hourly', updatedAt: at(3) });
        expect(await store.findLimit(g.id, own.id)).toEqual({ ...own, tokenQuota: 500, quotaPeriod: 'hourly', updatedAt: at(3) });
        await store.updateLimit(own.id, { tokenQuota: null, quotaPeriod: null });
        expect(await store.findLimit(g.id, own.id)).toEqual({ ...own, updatedAt: at(3) });

        await store.deleteLimit(own.id);
        expect(await store.listLimits(g.id)).toEqual([wide]);
      });

      it('raises UniqueViolationError for a second limit on the same scope, null deployment included', async () => {
        const { d, p, g } = await world(store);
        await store.insertLimit(limit(g.id, p.id, null));
        await store.insertLimit(limit(g.id, p.id, d.id));
        await expect(store.insertLimit(limit(g.id, p.id, null))).rejects.toBeInstanceOf(UniqueViolationError);
        await expect(store.insertLimit(limit(g.id, p.id, d.id))).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.listLimits(g.id)).toHaveLength(2);
      });
    });

    describe('limiter checkpoints', () => {
      it("keeps a gateway default's counters while the default exists; drops them with it, and those of deleted limits", async () => {
        const { p, g } = await world(store);
        const own = limit(g.id, p.id, null);
        await store.insertLimit(own);
        await store.updateGateway(g.id, { defaultProjectLimit: { tokensPerMinute: 100, tokenQuota: null, quotaPeriod: null } });
        const dflt = defaultLimitId(g.id, p.id);
        const ids = async () => (await store.loadLimiterStates()).rows.map((r) => r.limitId).sort();
        await store.saveLimiterStates([{ limitId: own.id, state: '{}' }, { limitId: dflt, state: '{}' }, { limitId: 'lim_gone', state: '{}' }]);
        expect(await ids()).toEqual([dflt, own.id].sort());

        await store.updateGateway(g.id, { defaultProjectLimit: null });
        await store.deleteLimit(own.id);
        await store.saveLimiterStates([{ limitId: 'lim_other', state: '{}' }]);
        expect(await ids()).toEqual([]);
      });
    });

    describe('cascades', () => {
      it('deleting a project removes its limits', async () => {
        const { r, d, p, g } = await world(store);
        const other = project(r.id);
        await store.insertProject(other);
        await store.insertLimit(limit(g.id, p.id, null));
        await store.insertLimit(limit(g.id, p.id, d.id));
        const kept = limit(g.id, other.id, null);
        await store.insertLimit(kept);
        await store.deleteProject(p.id);
        expect(await store.listLimits()).toEqual([kept]);
      });

      it('deleting a deployment removes its limits, not the project-wide ones', async () => {
        const { d, p, g } = await world(store);
        const wide = limit(g.id, p.id, null);
        await store.insertLimit(wide);
        await store.insertLimit(limit(g.id, p.id, d.id));
        await store.deleteDeployment(d.id);
        expect(await store.listLimits()).toEqual([wide]);
      });

      it('deleting a gateway removes its limits', async () => {
        const { p, g } = await world(store);
        await store.insertLimit(limit(g.id, p.id, null));
        await store.deleteGateway(g.id);
        expect(await store.listLimits()).toEqual([]);
        expect(await store.listProjects()).toEqual([p]);
      });

      it('deleting a resource removes its deployments, projects and their limits', async () => {
        const { p: governed, g } = await world(store);
        const r = resource();
        await store.insertResource(r);
        const d = deployment(r.id);
        const p = project(r.id);
        await store.insertDeployment(d);
        await store.insertProject(p);
        // a limit reaching the resource's project and deployment (the store does not police scope)
        await store.insertLimit(limit(g.id, p.id, d.id));
        const kept = limit(g.id, governed.id, null);
        await store.insertLimit(kept);

        await store.deleteResource(r.id);
        expect(await store.findResource(r.name)).toBeUndefined();
        expect(await store.listDeployments(r.id)).toEqual([]);
        expect(await store.listProjects(r.id)).toEqual([]);
        expect(await store.listLimits()).toEqual([kept]);
        expect(await store.listProjects()).toEqual([governed]);
      });
    });

    describe('admin tokens', () => {
      it('inserts, finds by hash, lists, deletes', async () => {
        const a = adminToken({ role: 'project-admin', resources: ['r1', 'r2'], createdAt: at(1) });
        const b = adminToken({ role: 'owner', createdAt: at(2) });
        await store.insertAdminToken(a);
        await store.insertAdminToken(b);
        expect(await store.findAdminTokenByHash(a.hash)).toEqual(a);
        expect(await store.findAdminTokenByHash(hex64(123_456_789))).toBeUndefined();
        expect(await store.listAdminTokens()).toEqual([a, b]);
        expect(await store.deleteAdminToken(a.id)).toBe(true);
        expect(await store.deleteAdminToken(a.id)).toBe(false);
        expect(await store.findAdminTokenByHash(a.hash)).toBeUndefined();
        expect(await store.listAdminTokens()).toEqual([b]);
      });

      it('keeps an empty resource grant distinct from "all"', async () => {
        const none = adminToken({ role: 'project-admin', resources: [] });
        await store.insertAdminToken(none);
        expect((await store.findAdminTokenByHash(none.hash))?.resources).toEqual([]);
      });

      it('raises UniqueViolationError for a reused hash', async () => {
        const a = adminToken();
        await store.insertAdminToken(a);
        await expect(store.insertAdminToken(adminToken({ hash: a.hash }))).rejects.toBeInstanceOf(UniqueViolationError);
      });
    });

    describe('audit log', () => {
      it('pages newest first with `before`', async () => {
        const base = Date.UTC(2025, 5, 1);
        const entries: AuditEntry[] = Array.from({ length: 5 }, (_, n) => ({
          id: newId('aud', base + n * 1000),
          at: new Date(base + n * 1000).toISOString(),
          actor: `actor-${n}`,
          action: 'resource.create',
          target: `resources/r${n}`,
          detail: n % 2 === 0 ? { n, nested: { ok: true } } : null,
        }));
        // inserted out of order: the order comes from the ids, not insertion
        for (const e of [entries[2]!, entries[0]!, entries[4]!, entries[1]!, entries[3]!]) await store.appendAudit(e);
        const newestFirst = [...entries].reverse();

        expect(await store.listAudit({ limit: 10 })).toEqual(newestFirst);
        const page1 = await store.listAudit({ limit: 2 });
        expect(page1).toEqual(newestFirst.slice(0, 2));
        const page2 = await store.listAudit({ limit: 2, before: page1[1]!.id });
        expect(page2).toEqual(newestFirst.slice(2, 4));
        const page3 = await store.listAudit({ limit: 2, before: page2[1]!.id });
        expect(page3).toEqual(newestFirst.slice(4));
        expect(await store.listAudit({ limit: 2, before: page3[0]!.id })).toEqual([]);
      });
    });

    describe('config version and transactions', () => {
      it('bumps the version by one, inside a transaction', async () => {
        const v0 = await store.configVersion();
        expect(Number.isInteger(v0)).toBe(true);
        const inside = await store.transaction(async (tx) => {
          await tx.insertResource(resource());
          return tx.bumpConfigVersion();
        });
        expect(inside).toBe(v0 + 1);
        expect(await store.configVersion()).toBe(v0 + 1);
        expect(await store.bumpConfigVersion()).toBe(v0 + 2);
      });

      it('the transaction sees its own writes and answers fn’s value', async () => {
        const r = resource();
        const result = await store.transaction(async (tx) => {
          await tx.insertResource(r);
          return (await tx.findResource(r.name))?.id;
        });
        expect(result).toBe(r.id);
        expect(await store.findResource(r.name)).toEqual(r);
      });

      it('rolls everything back when fn throws, version included', async () => {
        const v0 = await store.configVersion();
        const r = resource();
        const i = instance();
        const boom = new Error('boom');
        await expect(
          store.transaction(async (tx) => {
            await tx.insertResource(r);
            await tx.insertInstance(i);
            await tx.appendAudit({ id: newId('aud'), at: at(1), actor: 'x', action: 'a', target: 't', detail: null });
            await tx.bumpConfigVersion();
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store.findResource(r.name)).toBeUndefined();
        expect(await store.findInstance(i.name)).toBeUndefined();
        expect(await store.listAudit({ limit: 10 })).toEqual([]);
        expect(await store.configVersion()).toBe(v0);
      });

      it('rolls back when a unique violation aborts the transaction', async () => {
        const taken = resource();
        await store.insertResource(taken);
        const fresh = resource();
        await expect(
          store.transaction(async (tx) => {
            await tx.insertResource(fresh);
            await tx.insertResource(resource({ name: taken.name }));
          }),
        ).rejects.toBeInstanceOf(UniqueViolationError);
        expect(await store.findResource(fresh.name)).toBeUndefined();
        expect(await store.listResources()).toEqual([taken]);
      });

      it('a nested transaction joins the outer one', async () => {
        const r = resource();
        await expect(
          store.transaction(async (tx) => {
            await tx.transaction(async (inner) => inner.insertResource(r));
            throw new Error('outer fails');
          }),
        ).rejects.toThrow('outer fails');
        expect(await store.findResource(r.name)).toBeUndefined();
      });
    });

    it('loadConfig returns every config record at the current version', async () => {
      const { i, r, d, p, g } = await world(store);
      const spare = instance();
      await store.insertInstance(spare);
      const l = limit(g.id, p.id, d.id);
      await store.insertLimit(l);
      await store.insertAdminToken(adminToken());
      const version = await store.bumpConfigVersion();

      const config = await store.loadConfig();
      expect(config.version).toBe(version);
      expect(config.instances).toEqual([i, spare].sort((a, b) => a.name.localeCompare(b.name)));
      expect(config.resources).toEqual([r]);
      expect(config.deployments).toEqual([d]);
      expect(config.projects).toEqual([p]);
      expect(config.gateways).toEqual([g]);
      expect(config.limits).toEqual([l]);
      expect(Object.keys(config).sort()).toEqual(['deployments', 'gateways', 'instances', 'limits', 'projects', 'resources', 'version']);
    });
  });
}
