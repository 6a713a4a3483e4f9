import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLimitId } from '../../src/domain/default-limit.js';
import { idBoundAt, newId, SequentialIds } from '../../src/domain/ids.js';
import type { AdminToken, AuditEntry, Deployment, Gateway, Instance, Limit, Project, Resource } from '../../src/domain/model.js';
import { UniqueViolationError, type Store } from '../../src/store/store.js';
import {
  LEDGER_ID_PREFIX,
  OUTCOMES,
  type LedgerEntry,
  type Outcome,
  type RollupMark,
  type UsageInterval,
  type UsagePoint,
  type UsageQuery,
} from '../../src/usage/ledger.js';
import { INTERVALS, rollupsOf } from '../../src/usage/rollups.js';

/*
 * The store contract: every Store implementation must pass it (test/store/store.test.ts runs it on
 * SQLite, test/store/store-postgres.test.ts on PostgreSQL). `open` answers a migrated, empty store.
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
    upstreamUrlSealed: null,
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

      it('round-trips a pool: backends, retry and circuit breaker; null returns to one upstream', async () => {
        const r = resource();
        await store.insertResource(r);
        const d = deployment(r.id, {
          backends: [
            { name: 'east', provider: null, upstreamUrl: 'https://e/v1', upstreamUrlSealed: null, upstreamModel: null, upstreamApiKeySealed: 'v1.a.b.c', apiVersion: null, priority: 1, weight: 2 },
            { name: 'west', provider: 'openai', upstreamUrl: 'https://***@w/v1', upstreamUrlSealed: 'v1.d.e.f', upstreamModel: 'm', upstreamApiKeySealed: null, apiVersion: '1', priority: 2, weight: 1 },
          ],
          retry: { attempts: 2, on: [429, 'timeout'] },
          circuitBreaker: { failures: 3, tripSeconds: 10 },
        });
        await store.insertDeployment(d);
        expect(await store.findDeployment(r.id, d.name)).toEqual(d);
        await store.updateDeployment(d.id, { backends: null, retry: null, circuitBreaker: null });
        const { backends: _b, retry: _r, circuitBreaker: _c, ...single } = d;
        expect(await store.findDeployment(r.id, d.name)).toEqual(single);
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

      it('archives a deleted gateway: what it was and when it went, by its id', async () => {
        const { i, r, g } = await world(store);
        expect(await store.listArchivedGateways()).toEqual([]);
        const before = new Date().toISOString();
        await store.transaction((tx) => tx.deleteGateway(g.id));
        const archived = await store.findArchivedGateway(g.id);
        expect(archived).toMatchObject({ id: g.id, name: g.name, resourceName: r.name, instanceName: i.name, createdAt: g.createdAt });
        expect(archived!.deletedAt >= before).toBe(true);
        expect(await store.listArchivedGateways()).toEqual([archived]);
        expect(await store.findArchivedGateway('gw_none')).toBeUndefined();
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
      expect(config.agents).toEqual({ agents: [], grants: [], limits: [] });
      expect(Object.keys(config).sort()).toEqual(['agents', 'deployments', 'gateways', 'instances', 'limits', 'mcp', 'projects', 'resources', 'version']);
    });

    describe('ledger rollup marks', () => {
      const logged = (ids: SequentialIds, count: number, startMs: number): LedgerEntry[] =>
        Array.from({ length: count }, (_, i) => ({
          id: ids.next(startMs + i),
          atMs: startMs + i,
          requestId: `r-${i}`,
          gateway: 'gw-marks',
          project: 'p',
          deployment: 'd',
          operation: 'chat.completions',
          stream: false,
          status: 200,
          outcome: 'ok',
          errorCode: null,
          upstreamStatus: 200,
          promptTokens: 3,
          completionTokens: 2,
          totalTokens: 5,
          latencyMs: 1,
          upstreamMs: null,
          overheadMs: null,
          content: null,
        }));

      it('keeps the backend that answered and the attempts of a pool\'s request, and nothing for others', async () => {
        const w = new SequentialIds(LEDGER_ID_PREFIX);
        const t0 = Date.UTC(2025, 2, 4);
        const [pooled, single] = logged(w, 2, t0).map((e) => ({ ...e, gateway: 'gw-pool' }));
        await store.usage.appendLog([{ ...pooled!, backend: 'east', attempts: 2 }, single!], { writer: w.node, throughId: idBoundAt(LEDGER_ID_PREFIX, t0), seenMs: 1_000 });
        const rows = await store.usage.logs({ gateway: 'gw-pool', limit: 10 });
        expect(rows.map((r) => [r.backend ?? null, r.attempts ?? null])).toEqual([
          [null, null],
          ['east', 2],
        ]);
        await store.usage.releaseMark(w.node);
      });

      it('a log write refreshes the writer\'s mark, or makes it when there is none and answers where it starts', async () => {
        const w = new SequentialIds(LEDGER_ID_PREFIX);
        const t0 = Date.UTC(2025, 2, 3);
        const rows = logged(w, 4, t0);
        const start = idBoundAt(LEDGER_ID_PREFIX, t0);
        expect(await store.usage.appendLog(rows.slice(0, 2), { writer: w.node, throughId: start, seenMs: 1_000 })).toBe(start);
        expect(await store.usage.appendLog(rows.slice(2), { writer: w.node, throughId: rows[1]!.id, seenMs: 5_000 })).toBeNull();
        // Refreshed at 5 000: not stale at 2 000; at 6 000 it is, and all four rows are rebuilt.
        expect(await store.usage.recoverRollups(2_000, 'someone')).toBe(0);
        expect(await store.usage.recoverRollups(6_000, 'someone')).toBe(4);
        // The writer, back, finds its mark gone: its rollups are not added again, and its next
        // write makes a new mark above the rows rebuilt.
        expect(await store.usage.addRollups(rollupsOf(rows), { writer: w.node, throughId: rows[3]!.id, seenMs: 7_000 })).toBe(false);
        const more = logged(w, 2, t0 + 100);
        expect(await store.usage.appendLog(more, { writer: w.node, throughId: rows[3]!.id, seenMs: 7_000 })).toBe(rows[3]!.id);
        expect(await store.usage.addRollups(rollupsOf(more), { writer: w.node, throughId: more[1]!.id, seenMs: 8_000 })).toBe(true);
        await store.usage.releaseMark(w.node);
        expect(await store.usage.recoverRollups(Number.MAX_SAFE_INTEGER, 'someone')).toBe(0);
        const day = await store.usage.usage({ gateway: 'gw-marks', fromMs: t0, toMs: t0 + 86_400_000, interval: 'day' });
        expect(day.map((p) => p.requests.total)).toEqual([6]);
      });
    });
  });
  usageFreshnessContract(name, open);
}

// --- Usage: exact before the rollups ----------------------------------------------------------------

const T0 = Date.UTC(2025, 2, 3, 10); // on a day, hour and minute boundary
const STEPS: Record<UsageInterval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const OUTCOME_CYCLE: Outcome[] = ['ok', 'ok', 'rate_limited', 'ok', 'upstream_error', 'rejected'];

/** `count` entries of one writer (its ids), 20 s apart from `startMs`: two projects, a null deployment now and then. */
function written(ids: SequentialIds, count: number, startMs = T0): LedgerEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const atMs = startMs + i * 20_000;
    const outcome = OUTCOME_CYCLE[i % OUTCOME_CYCLE.length]!;
    const prompt = outcome === 'rejected' ? 0 : 10 + i;
    const completion = outcome === 'ok' ? 5 + (i % 3) : 0;
    return {
      id: ids.next(atMs),
      atMs,
      requestId: `r-${ids.node}-${i}`,
      gateway: 'gw-usage',
      project: i % 2 === 0 ? 'pa' : 'pb',
      deployment: i % 5 === 4 ? null : 'dx',
      operation: 'chat.completions',
      stream: false,
      status: outcome === 'ok' ? 200 : 400,
      outcome,
      errorCode: null,
      upstreamStatus: null,
      promptTokens: prompt,
      completionTokens: completion,
      totalTokens: prompt + completion,
      latencyMs: 1.25 + i,
      upstreamMs: null,
      overheadMs: null,
      content: null,
      // Cost in two currencies (one bucket may hold both), none on some rows: summed per currency.
      ...(prompt === 0 ? {} : { costMicros: 1_000_003 * (i + 1), currency: i % 4 === 3 ? 'EUR' : 'USD' }),
    };
  });
}

/** What usage() must answer for these entries, summed in JS, in its order. */
function pointsOf(entries: readonly LedgerEntry[], step: number, group?: 'project' | 'deployment'): UsagePoint[] {
  const points = new Map<string, UsagePoint>();
  for (const e of entries) {
    const bucketMs = Math.floor(e.atMs / step) * step;
    const grp = group === undefined ? null : (e[group] ?? '');
    const key = `${bucketMs}/${grp}`;
    let p = points.get(key);
    if (!p) {
      const zero = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      p = { bucketMs, group: grp, requests: { ...zero, total: 0 }, tokens: { prompt: 0, completion: 0, total: 0 }, latencyMsSum: 0, cost: {} };
      points.set(key, p);
    }
    p.requests[e.outcome] += 1;
    p.requests.total += 1;
    p.tokens.prompt += e.promptTokens;
    p.tokens.completion += e.completionTokens;
    p.tokens.total += e.totalTokens;
    p.latencyMsSum += e.latencyMs;
    if (e.currency && e.costMicros) p.cost[e.currency] = (p.cost[e.currency] ?? 0) + e.costMicros;
  }
  return sorted([...points.values()]);
}
const sorted = (points: UsagePoint[]) => [...points].sort((a, b) => a.bucketMs - b.bucketMs || String(a.group).localeCompare(String(b.group)));

const markOf = (ids: SequentialIds, throughId: string, seenMs = Date.now()): RollupMark => ({ writer: ids.node, throughId, seenMs });
/** The mark a writer starts with: none of its rows is in the rollups. */
const firstMark = (ids: SequentialIds) => markOf(ids, idBoundAt(LEDGER_ID_PREFIX, T0));

/**
 * usage() counts every log row exactly once, whether its rollup is written yet or not: the usage
 * API is fresh within a log flush, in one process or across the writers of a cluster. Part of the
 * store contract; also run on its own against stores the whole contract does not cover.
 */
export function usageFreshnessContract(name: string, open: () => Promise<Store>): void {
  describe(`usage before the rollups: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    /** usage() equals the JS sums of `entries`: every interval, grouped, filtered. */
    async function expectUsage(entries: readonly LedgerEntry[], why: string): Promise<void> {
      const usage = (q: Omit<UsageQuery, 'gateway' | 'fromMs' | 'toMs'>, fromMs = T0, toMs = T0 + STEPS.day) =>
        store.usage.usage({ gateway: 'gw-usage', fromMs, toMs, ...q }).then(sorted);
      for (const interval of INTERVALS) {
        const step = STEPS[interval];
        expect(await usage({ interval }), `${why}: ${interval}`).toEqual(pointsOf(entries, step));
        expect(await usage({ interval, groupBy: 'project' }), `${why}: ${interval} by project`).toEqual(pointsOf(entries, step, 'project'));
        expect(await usage({ interval, groupBy: 'deployment' }), `${why}: ${interval} by deployment`).toEqual(pointsOf(entries, step, 'deployment'));
        expect(await usage({ interval, project: 'pb' }), `${why}: ${interval} of pb`).toEqual(pointsOf(entries.filter((e) => e.project === 'pb'), step));
        // "No deployment" is '' in queries, as in the rollups.
        expect(await usage({ interval, deployment: '' }), `${why}: ${interval} of no deployment`).toEqual(
          pointsOf(entries.filter((e) => e.deployment === null), step),
        );
      }
      // A range that starts inside a minute takes the whole minute; its end is exclusive.
      const inside = entries.filter((e) => e.atMs >= T0 + STEPS.minute && e.atMs < T0 + 2 * STEPS.minute);
      expect(await usage({ interval: 'minute' }, T0 + STEPS.minute + 1, T0 + 2 * STEPS.minute), `${why}: one minute`).toEqual(pointsOf(inside, STEPS.minute));
      expect(await store.usage.usage({ gateway: 'elsewhere', fromMs: T0, toMs: T0 + STEPS.day, interval: 'day' })).toEqual([]);
    }

    it('counts log rows written ahead of their rollups once, as the rollups and the mark catch up', async () => {
      const w = new SequentialIds(LEDGER_ID_PREFIX);
      const rows = written(w, 12);
      // The first write makes the mark (answering where it starts), the next one refreshes it.
      expect(await store.usage.appendLog(rows.slice(0, 8), firstMark(w))).toBe(firstMark(w).throughId);
      expect(await store.usage.appendLog(rows.slice(8), markOf(w, rows[7]!.id))).toBeNull();
      await expectUsage(rows, 'all in the log, none rolled up');
      expect(await store.usage.addRollups(rollupsOf(rows.slice(0, 5)), markOf(w, rows[4]!.id))).toBe(true);
      await expectUsage(rows, 'five rolled up');
      expect(await store.usage.addRollups(rollupsOf(rows.slice(5)), markOf(w, rows[11]!.id))).toBe(true);
      await expectUsage(rows, 'all rolled up, the mark above them');
      // A writer without a mark has all its rows in the rollups: its log adds nothing.
      await store.usage.releaseMark(w.node);
      await expectUsage(rows, 'all rolled up, no mark');
      // Rows appended with their rollups at once (no mark) count once too.
      const direct = written(new SequentialIds(LEDGER_ID_PREFIX), 3, T0 + 7_000);
      await store.usage.append(direct);
      await expectUsage([...rows, ...direct], 'and rows appended with their rollups');
    });

    it("counts a dead writer's rows once before and after recoverRollups rebuilds them; its next write makes a new mark", async () => {
      const dead = new SequentialIds(LEDGER_ID_PREFIX);
      const live = new SequentialIds(LEDGER_ID_PREFIX);
      const deadRows = written(dead, 10);
      const liveRows = written(live, 6, T0 + 5_000);
      await store.usage.appendLog(deadRows, markOf(dead, idBoundAt(LEDGER_ID_PREFIX, T0), 1_000));
      await store.usage.addRollups(rollupsOf(deadRows.slice(0, 4)), markOf(dead, deadRows[3]!.id, 1_000));
      await store.usage.appendLog(liveRows, firstMark(live));
      await expectUsage([...deadRows, ...liveRows], 'two writers, partly rolled up');

      // Only the stale mark is taken: the live writer's stays, its rows still counted from the log.
      expect(await store.usage.recoverRollups(2_000, 'nobody')).toBe(6);
      await expectUsage([...deadRows, ...liveRows], 'the dead writer rebuilt');
      expect(await store.usage.recoverRollups(2_000, 'nobody')).toBe(0);

      // Back from a stall, the "dead" writer finds its mark gone: its own sums are not added again,
      expect(await store.usage.addRollups(rollupsOf(deadRows.slice(4)), markOf(dead, deadRows[9]!.id))).toBe(false);
      await expectUsage([...deadRows, ...liveRows], 'the stalled copy not added');
      // and its next write makes a new mark above its rows.
      const more = written(dead, 3, T0 + 30 * 60_000);
      expect(await store.usage.appendLog(more, markOf(dead, deadRows[9]!.id))).toBe(deadRows[9]!.id);
      await expectUsage([...deadRows, ...liveRows, ...more], 'a new mark after the rebuild');
      expect(await store.usage.addRollups(rollupsOf(more), markOf(dead, more[2]!.id))).toBe(true);
      expect(await store.usage.addRollups(rollupsOf(liveRows), markOf(live, liveRows[5]!.id))).toBe(true);
      await expectUsage([...deadRows, ...liveRows, ...more], 'everything rolled up');
    });

    it('reads during rollup writes and a rebuild see every row exactly once', async () => {
      const a = new SequentialIds(LEDGER_ID_PREFIX);
      const b = new SequentialIds(LEDGER_ID_PREFIX);
      const aRows = written(a, 40);
      const bRows = written(b, 30, T0 + 1_000);
      await store.usage.appendLog(aRows, firstMark(a));
      await store.usage.appendLog(bRows, markOf(b, idBoundAt(LEDGER_ID_PREFIX, T0), 1_000));
      const total = [...aRows, ...bRows].length;
      // Writer a rolls up in steps while b, found dead, is rebuilt; the reads go on meanwhile.
      let writing = true;
      const writes = (async () => {
        try {
          for (let i = 0; i < aRows.length; i += 5) {
            expect(await store.usage.addRollups(rollupsOf(aRows.slice(i, i + 5)), markOf(a, aRows[i + 4]!.id))).toBe(true);
            if (i === 15) expect(await store.usage.recoverRollups(2_000, a.node)).toBe(bRows.length);
          }
        } finally {
          writing = false;
        }
      })();
      const seen: number[] = [];
      while (writing || seen.length < 5) {
        const points = await store.usage.usage({ gateway: 'gw-usage', fromMs: T0, toMs: T0 + STEPS.day, interval: 'minute' });
        seen.push(points.reduce((n, p) => n + p.requests.total, 0));
        // A read on SQLite may complete without leaving the microtask queue: let the writes (the
        // writer thread's answers) in.
        await nextTurn();
      }
      await writes;
      expect(new Set(seen)).toEqual(new Set([total]));
      await expectUsage([...aRows, ...bRows], 'after the writes');
    });
  });
}
