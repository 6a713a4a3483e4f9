import { isDeepStrictEqual } from 'node:util';
import { newId } from '../../domain/ids.js';
import type { ArchivedGateway, Gateway, Instance, LimitValues } from '../../domain/model.js';
import { TollgateError } from '../../errors.js';
import type { GatewayPatch } from '../../store/store.js';
import { alreadyExists, missing, notFound } from '../admin-errors.js';
import type { ArchivedGatewayView } from '../api-types.js';
import { checkLimitValues, patchLimitValues } from '../limit-values.js';
import type { Principal } from '../permissions.js';
import { gatewayView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

export interface GatewayInput {
  name: string;
  resource: string;
  instance: { mode: 'new' } | { mode: 'existing'; name: string };
  defaultProjectLimit?: Partial<LimitValues> | null;
  /** Already normalised origins (see schemas.ts). */
  corsOrigins?: string[];
}

/** Gateway settings. `defaultProjectLimit` merges into the current one (null removes it). */
export interface GatewayUpdate {
  logContent?: boolean;
  defaultProjectLimit?: Partial<LimitValues> | null;
  corsOrigins?: string[];
}

/** Gateways: governance of one resource, served by one instance. */
export class GatewayAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list() {
    const [gateways, resources, instances] = await Promise.all([
      this.ctx.store.listGateways(),
      this.ctx.store.listResources(),
      this.ctx.store.listInstances(),
    ]);
    const resourceNames = new Map(resources.map((r) => [r.id, r.name]));
    const instanceNames = new Map(instances.map((i) => [i.id, i.name]));
    return gateways.map((g) => gatewayView(g, resourceNames.get(g.resourceId) ?? '', instanceNames.get(g.instanceId) ?? ''));
  }

  async get(name: string) {
    return this.ctx.find.gatewayView(await this.ctx.find.gateway(name));
  }

  /** What the ledger files the gateway's usage and logs under: its id. */
  async ledgerKey(name: string): Promise<string> {
    return (await this.ctx.find.gateway(name)).id;
  }

  /** Deleted gateways, whose history stays reachable by their id. */
  async listArchived(): Promise<ArchivedGatewayView[]> {
    return (await this.ctx.store.listArchivedGateways()).map(archivedGatewayView);
  }

  async getArchived(id: string): Promise<ArchivedGatewayView> {
    const archived = await this.ctx.store.findArchivedGateway(id);
    if (!archived) throw notFound(`no archived gateway has id "${id}" (see GET /admin/v1/gateways?archived=true)`);
    return archivedGatewayView(archived);
  }

  async create(actor: Principal, input: GatewayInput) {
    const { store } = this.ctx;
    if (await store.findGateway(input.name)) throw alreadyExists(`gateway "${input.name}"`);
    const defaultProjectLimit = input.defaultProjectLimit ? checkLimitValues(patchLimitValues(null, input.defaultProjectLimit), 'defaultProjectLimit') : null;
    const resource = await store.findResource(input.resource);
    if (!resource) throw missing('resource', input.resource, 'resource');
    const existing = await store.findGatewayByResource(resource.id);
    if (existing) {
      throw new TollgateError(
        'resource_has_gateway',
        `resource "${resource.name}" already has gateway "${existing.name}"; a resource has at most one gateway`,
        { param: 'resource' },
      );
    }
    let instance: Instance;
    let newInstance = false;
    if (input.instance.mode === 'existing') {
      const found = await store.findInstance(input.instance.name);
      if (!found) throw missing('instance', input.instance.name, 'instance.name');
      const user = await store.findGatewayByInstance(found.id);
      if (user) {
        throw new TollgateError(
          'instance_in_use',
          `instance "${found.name}" already backs gateway "${user.name}"; an instance can back only one gateway — choose another instance or create a new one`,
          { param: 'instance.name' },
        );
      }
      instance = found;
    } else {
      instance = { id: newId('ins'), name: await this.freeInstanceName(input.name), createdAt: now() };
      newInstance = true;
    }
    const gateway: Gateway = {
      id: newId('gw'),
      name: input.name,
      resourceId: resource.id,
      instanceId: instance.id,
      status: 'provisioning',
      logContent: false,
      defaultProjectLimit,
      corsOrigins: input.corsOrigins ?? [],
      createdAt: now(),
    };
    const detail = {
      resource: resource.name,
      instance: instance.name,
      newInstance,
      ...(defaultProjectLimit ? { defaultProjectLimit } : {}),
      ...(gateway.corsOrigins.length > 0 ? { corsOrigins: gateway.corsOrigins } : {}),
    };
    await this.ctx.changes.change(actor, 'gateway.create', `gateways/${input.name}`, detail, async (tx) => {
      if (newInstance) await tx.insertInstance(instance);
      await tx.insertGateway(gateway);
    });
    return gatewayView(gateway, resource.name, instance.name);
  }

  /**
   * Gateway settings: whether the ledger keeps prompt and completion content, the default limit
   * of projects without a project-wide limit, and the browser origins allowed to call (CORS).
   * Only what differs is written; a patch that changes nothing makes no config version.
   */
  async update(actor: Principal, name: string, patch: GatewayUpdate) {
    const gateway = await this.ctx.find.gateway(name);
    const changes: GatewayPatch = {};
    if (patch.logContent !== undefined && patch.logContent !== gateway.logContent) changes.logContent = patch.logContent;
    if (patch.defaultProjectLimit !== undefined) {
      const next =
        patch.defaultProjectLimit === null
          ? null
          : checkLimitValues(patchLimitValues(gateway.defaultProjectLimit, patch.defaultProjectLimit), 'defaultProjectLimit');
      if (!isDeepStrictEqual(next, gateway.defaultProjectLimit)) changes.defaultProjectLimit = next;
    }
    if (patch.corsOrigins !== undefined && !isDeepStrictEqual(patch.corsOrigins, gateway.corsOrigins)) changes.corsOrigins = patch.corsOrigins;
    if (Object.keys(changes).length > 0) {
      const previous = Object.fromEntries(Object.keys(changes).map((k) => [k, gateway[k as keyof GatewayPatch] ?? null]));
      await this.ctx.changes.change(actor, 'gateway.update', `gateways/${name}`, { ...changes }, (tx) => tx.updateGateway(gateway.id, changes), previous);
    }
    return this.ctx.find.gatewayView({ ...gateway, ...changes });
  }

  /**
   * Deletes a gateway. Its enabled projects must be disabled first, or — with `disableProjects` —
   * are disabled by the delete itself, in the same transaction (one audit entry names them).
   */
  async delete(actor: Principal, name: string, options: { disableProjects?: boolean } = {}) {
    const gateway = await this.ctx.find.gateway(name);
    const enabled = (await this.ctx.store.listProjects(gateway.resourceId)).filter((p) => p.gatewayStatus === 'enabled');
    if (enabled.length > 0 && !options.disableProjects) {
      throw new TollgateError(
        'gateway_has_enabled_projects',
        `gateway "${name}" still has enabled projects (${enabled.map((p) => p.name).join(', ')}); disable them first, ` +
          `or disable them and delete in one step: DELETE /admin/v1/gateways/${name}?disableProjects=true (CLI: tollgate gateways delete ${name} --disable-projects)`,
      );
    }
    const disabled = enabled.map((p) => p.name);
    const instance = (await this.ctx.store.listInstances()).find((i) => i.id === gateway.instanceId);
    await this.ctx.changes.change(
      actor,
      'gateway.delete',
      `gateways/${name}`,
      disabled.length > 0 ? { disabledProjects: disabled } : null,
      async (tx) => {
        for (const project of enabled) await tx.updateProject(project.id, { gatewayStatus: 'disabled' });
        await tx.deleteGateway(gateway.id);
      },
      { instance: instance?.name ?? null, logContent: gateway.logContent, defaultProjectLimit: gateway.defaultProjectLimit, corsOrigins: gateway.corsOrigins },
    );
    return { disabledProjects: disabled };
  }

  private async freeInstanceName(base: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base.slice(0, 60)}-${n}`;
      if (!(await this.ctx.store.findInstance(candidate))) return candidate;
    }
  }
}

function archivedGatewayView(g: ArchivedGateway): ArchivedGatewayView {
  return { id: g.id, name: g.name, resource: g.resourceName, instance: g.instanceName, createdAt: g.createdAt, deletedAt: g.deletedAt };
}
