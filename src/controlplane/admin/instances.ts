import { isLive } from '../../cluster/node-registry.js';
import { newId } from '../../domain/ids.js';
import { TollgateError } from '../../errors.js';
import { alreadyExists, missing } from '../admin-errors.js';
import type { NodeView } from '../api-types.js';
import type { Principal } from '../permissions.js';
import { instanceView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

/** Instances: pools of gateway nodes, each backing at most one gateway. */
export class InstanceAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list() {
    const [instances, gateways] = await Promise.all([this.ctx.store.listInstances(), this.ctx.store.listGateways()]);
    const byInstance = new Map(gateways.map((g) => [g.instanceId, g.name]));
    return instances.map((i) => instanceView(i, byInstance.get(i.id) ?? null));
  }

  async create(actor: Principal, name: string) {
    if (await this.ctx.store.findInstance(name)) throw alreadyExists(`instance "${name}"`);
    const instance = { id: newId('ins'), name, createdAt: now() };
    await this.ctx.changes.change(actor, 'instance.create', `instances/${name}`, null, (tx) => tx.insertInstance(instance));
    return instanceView(instance, null);
  }

  /** Deletes an instance that backs no gateway (its nodes, if any still run, serve nothing). */
  async delete(actor: Principal, name: string) {
    const instance = await this.ctx.store.findInstance(name);
    if (!instance) throw missing('instance', name);
    const gateway = await this.ctx.store.findGatewayByInstance(instance.id);
    if (gateway) {
      throw new TollgateError(
        'instance_in_use',
        `instance "${name}" backs gateway "${gateway.name}" and cannot be deleted; delete the gateway first (its instance stays, then delete it)`,
      );
    }
    await this.ctx.changes.change(actor, 'instance.delete', `instances/${name}`, null, (tx) => tx.deleteInstance(instance.id), { createdAt: instance.createdAt });
  }

  /** The gateway nodes that reported in, with their health and whether they serve the latest config. */
  async listNodes(heartbeatMs: number): Promise<NodeView[]> {
    const [nodes, version] = await Promise.all([this.ctx.store.listNodes(), this.ctx.store.configVersion()]);
    const at = Date.now();
    return nodes.map((n) => ({
      id: n.id,
      instance: n.instance ?? '*',
      address: n.address,
      version: n.version,
      configVersion: n.configVersion,
      configCurrent: n.configVersion === version,
      status: isLive(n, heartbeatMs, at) ? 'live' : 'stale',
      startedAt: n.startedAt,
      heartbeatAt: n.heartbeatAt,
    }));
  }
}
