import { newId } from '../../domain/ids.js';
import type { Resource } from '../../domain/model.js';
import { TollgateError } from '../../errors.js';
import { alreadyExists } from '../admin-errors.js';
import type { Principal } from '../permissions.js';
import { resourceView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

/** Resources: groups of deployments and the projects that use them. */
export class ResourceAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list() {
    return (await this.ctx.store.listResources()).map(resourceView);
  }

  async get(name: string) {
    return resourceView(await this.ctx.find.resource(name));
  }

  async create(actor: Principal, input: { name: string; description?: string | null }) {
    if (await this.ctx.store.findResource(input.name)) throw alreadyExists(`resource "${input.name}"`);
    const at = now();
    const resource: Resource = { id: newId('res'), name: input.name, description: input.description ?? null, createdAt: at, updatedAt: at };
    await this.ctx.changes.change(actor, 'resource.create', `resources/${input.name}`, null, (tx) => tx.insertResource(resource));
    return resourceView(resource);
  }

  async update(actor: Principal, name: string, patch: { description?: string | null }) {
    const resource = await this.ctx.find.resource(name);
    const updated = { ...resource, ...patch, updatedAt: now() };
    await this.ctx.changes.change(
      actor,
      'resource.update',
      `resources/${name}`,
      patch,
      (tx) => tx.updateResource(resource.id, { description: updated.description, updatedAt: updated.updatedAt }),
      { description: resource.description },
    );
    return resourceView(updated);
  }

  async delete(actor: Principal, name: string) {
    const resource = await this.ctx.find.resource(name);
    const gateway = await this.ctx.store.findGatewayByResource(resource.id);
    if (gateway) {
      throw new TollgateError('resource_has_gateway', `resource "${name}" is governed by gateway "${gateway.name}"; delete the gateway first`);
    }
    await this.ctx.changes.change(actor, 'resource.delete', `resources/${name}`, null, (tx) => tx.deleteResource(resource.id), { description: resource.description });
  }
}
