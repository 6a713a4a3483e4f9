import { newId } from '../../domain/ids.js';
import type { KeySlot, Project } from '../../domain/model.js';
import { generateProjectKey } from '../../security/keys.js';
import { conflict } from '../admin-errors.js';
import type { CreatedProject, RegeneratedKey } from '../api-types.js';
import type { Principal } from '../permissions.js';
import { projectView } from '../views.js';
import { now } from './change.js';
import type { AdminContext } from './context.js';

/** Projects of a resource and their two data-plane keys (stored as hashes, shown once). */
export class ProjectAdmin {
  constructor(private readonly ctx: AdminContext) {}

  async list(resourceName: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return (await this.ctx.store.listProjects(resource.id)).map((p) => projectView(p, resource.name));
  }

  async get(resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    return projectView(await this.ctx.find.project(resource, name), resource.name);
  }

  /** The only time the keys are shown: they are stored as hashes. */
  async create(actor: Principal, resourceName: string, name: string): Promise<CreatedProject> {
    const resource = await this.ctx.find.resource(resourceName);
    if (await this.ctx.store.findProject(resource.id, name)) {
      throw conflict(`project "${name}" already exists in resource "${resourceName}"`);
    }
    const gateway = await this.ctx.store.findGatewayByResource(resource.id);
    const primary = generateProjectKey();
    const secondary = generateProjectKey();
    const project: Project = {
      id: newId('prj'),
      resourceId: resource.id,
      name,
      // Projects created once a gateway governs the resource join it; older ones must be added.
      gatewayStatus: gateway ? 'enabled' : 'disabled',
      primaryKey: primary.stored,
      secondaryKey: secondary.stored,
      createdAt: now(),
    };
    await this.ctx.changes.change(actor, 'project.create', `resources/${resourceName}/projects/${name}`, null, (tx) => tx.insertProject(project));
    return { ...projectView(project, resource.name), keys: { primary: primary.secret, secondary: secondary.secret } };
  }

  async delete(actor: Principal, resourceName: string, name: string) {
    const resource = await this.ctx.find.resource(resourceName);
    const project = await this.ctx.find.project(resource, name);
    await this.ctx.changes.change(
      actor,
      'project.delete',
      `resources/${resourceName}/projects/${name}`,
      null,
      (tx) => tx.deleteProject(project.id),
      { gatewayStatus: project.gatewayStatus },
    );
  }

  /** Replaces one key; the other keeps working, so clients rotate without downtime. */
  async regenerateKey(actor: Principal, resourceName: string, name: string, slot: KeySlot): Promise<RegeneratedKey> {
    const resource = await this.ctx.find.resource(resourceName);
    const project = await this.ctx.find.project(resource, name);
    const key = generateProjectKey();
    const patch = slot === 'primary' ? { primaryKey: key.stored } : { secondaryKey: key.stored };
    await this.ctx.changes.change(actor, 'project.key.regenerate', `resources/${resourceName}/projects/${name}/keys/${slot}`, null, (tx) =>
      tx.updateProject(project.id, patch),
    );
    return { name, resource: resource.name, slot, key: key.secret, hint: key.stored.hint };
  }
}
