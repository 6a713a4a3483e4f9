import { missingOnGateway } from '../admin-errors.js';
import type { Principal } from '../permissions.js';
import { gatewayProjectView, projectLimitView } from '../views.js';
import type { AdminContext } from './context.js';

/** The projects of a gateway's resource: added (enabled) or disabled on the gateway. */
export class GatewayProjectAdmin {
  constructor(private readonly ctx: AdminContext) {}

  /** The projects of the gateway's resource, their gateway status and the project-wide limit each runs under. */
  async list(gatewayName: string) {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const [projects, limits] = await Promise.all([this.ctx.store.listProjects(gateway.resourceId), this.ctx.store.listLimits(gateway.id)]);
    const own = new Map(limits.filter((l) => l.deploymentId === null).map((l) => [l.projectId, l]));
    return projects.map((p) => gatewayProjectView(p, projectLimitView(gateway, p, own.get(p.id))));
  }

  async setStatus(actor: Principal, gatewayName: string, projectName: string, status: 'enabled' | 'disabled') {
    const gateway = await this.ctx.find.gateway(gatewayName);
    const project = await this.ctx.store.findProject(gateway.resourceId, projectName);
    if (!project) throw missingOnGateway('project', projectName, gatewayName);
    if (project.gatewayStatus !== status) {
      const action = status === 'enabled' ? 'gateway.project.add' : 'gateway.project.disable';
      await this.ctx.changes.change(
        actor,
        action,
        `gateways/${gatewayName}/projects/${projectName}`,
        { gatewayStatus: status },
        (tx) => tx.updateProject(project.id, { gatewayStatus: status }),
        { gatewayStatus: project.gatewayStatus },
      );
    }
    const updated = { ...project, gatewayStatus: status };
    const own = await this.ctx.store.findLimitByScope(gateway.id, project.id, null);
    return gatewayProjectView(updated, projectLimitView(gateway, updated, own));
  }
}
