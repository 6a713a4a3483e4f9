import type { Deployment, Gateway, Limit, Project, Resource } from '../../domain/model.js';
import type { Store } from '../../store/store.js';
import { missing, missingInResource, notFound } from '../admin-errors.js';
import { gatewayView } from '../views.js';

/** Finds what a request names, or answers the catalog's not_found for it. */
export class Lookups {
  constructor(private readonly store: Store) {}

  async resource(name: string): Promise<Resource> {
    const resource = await this.store.findResource(name);
    if (!resource) throw missing('resource', name);
    return resource;
  }

  async deployment(resource: Resource, name: string): Promise<Deployment> {
    const deployment = await this.store.findDeployment(resource.id, name);
    if (!deployment) throw missingInResource('deployment', name, resource.name);
    return deployment;
  }

  async project(resource: Resource, name: string): Promise<Project> {
    const project = await this.store.findProject(resource.id, name);
    if (!project) throw missingInResource('project', name, resource.name);
    return project;
  }

  async gateway(name: string): Promise<Gateway> {
    const gateway = await this.store.findGateway(name);
    if (!gateway) throw missing('gateway', name);
    return gateway;
  }

  async limit(gateway: Gateway, id: string): Promise<Limit> {
    const limit = await this.store.findLimit(gateway.id, id);
    if (!limit) throw notFound(`limit "${id}" does not exist on gateway "${gateway.name}"`);
    return limit;
  }

  /** The names of a resource's projects and deployments, for the views of its limits. */
  async scopeNames(resourceId: string) {
    const [projects, deployments] = await Promise.all([this.store.listProjects(resourceId), this.store.listDeployments(resourceId)]);
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    const deploymentNames = new Map(deployments.map((d) => [d.id, d.name]));
    return {
      project: (l: Limit) => projectNames.get(l.projectId) ?? '',
      deployment: (l: Limit) => (l.deploymentId === null ? null : (deploymentNames.get(l.deploymentId) ?? null)),
    };
  }

  /** A gateway as the API shows it, with the names of its resource and instance. */
  async gatewayView(g: Gateway) {
    const [resources, instances] = await Promise.all([this.store.listResources(), this.store.listInstances()]);
    return gatewayView(
      g,
      resources.find((r) => r.id === g.resourceId)?.name ?? '',
      instances.find((i) => i.id === g.instanceId)?.name ?? '',
    );
  }
}
