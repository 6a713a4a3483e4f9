import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeySlot } from '../domain/model.js';
import { authThrottled, TollgateError } from '../errors.js';
import { clientAddress, type AuthThrottle } from '../security/auth-throttle.js';
import { hashSecret } from '../security/keys.js';
import type { Store } from '../store/store.js';
import type { Limiter } from '../limits/limiter.js';
import type { AdminService } from './admin-service.js';
import type { BackendPicker } from '../dataplane/backends/backend-picker.js';
import { configDocument } from './config/document.js';
import type { ConfigService } from './config/config-service.js';
import { registerUsageRoutes } from './usage-routes.js';
import { registerAgentRoutes, type AgentHealthSource } from './agent-routes.js';
import { registerMcpRoutes } from './mcp-routes.js';
import type { WhoAmI } from './api-types.js';
import { principalOf, type Principal } from './permissions.js';
import { installPermissionCheck, requires } from './route-permissions.js';
import { openApiDocument } from './openapi/openapi-document.js';
import type { DocumentedRoute } from './openapi/route-doc.js';
import {
  adminTokenBody,
  applyQuery,
  auditQuery,
  deploymentBody,
  deploymentPatch,
  gatewayBody,
  gatewayDeleteQuery,
  gatewayListQuery,
  gatewayPatch,
  instanceBody,
  limitBody,
  limitPatch,
  parse,
  projectBody,
  resourceBody,
  resourcePatch,
} from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

type P<T extends string> = { [K in T]: string };

/** The admin REST API under /admin/v1: JSON, bearer admin tokens, a role check on every route (declared with it). */
export async function adminRoutes(
  app: FastifyInstance,
  deps: {
    service: AdminService;
    config: ConfigService;
    store: Store;
    limiter: Limiter;
    heartbeatMs: number;
    authThrottle: AuthThrottle;
    trustProxy: boolean;
    /** The data plane's picker: breaker state and per-node calls of each backend. */
    backends: BackendPicker;
    /** The agents' health checks on this node (status in agent answers). */
    agents?: AgentHealthSource;
    /** TOLLGATE_PUBLIC_URL: the base of agent proxy URLs. */
    publicUrl?: string;
  },
): Promise<void> {
  const { service, config, store, limiter } = deps;
  app.decorateRequest('principal', null);

  // Every route registered here (and in plugins registered here) lands in the API reference.
  const routes: DocumentedRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, permission: route.config?.access?.permission, doc: route.config?.doc });
    }
  });
  let reference: Record<string, unknown> | undefined;
  app.get('/openapi.json', { config: requires('public', { summary: 'This API reference (OpenAPI 3.1); needs no token' }) }, async () => {
    reference ??= openApiDocument(routes, app.prefix);
    return reference;
  });

  // Many clients send Content-Type: application/json on bodiless calls (DELETE, PUT, regenerate).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new TollgateError('invalid_request', 'The request body is not valid JSON.'), undefined);
    }
  });

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.access?.permission === 'public') return;
    const address = clientAddress(request.raw, deps.trustProxy);
    const wait = deps.authThrottle.retryAfter(address);
    if (wait > 0) throw authThrottled(wait);
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : '';
    if (!token) throw new TollgateError('unauthorized', 'missing admin token: send Authorization: Bearer <admin token>');
    const found = await store.findAdminTokenByHash(hashSecret(token));
    if (!found) {
      deps.authThrottle.failed(address);
      throw new TollgateError('unauthorized', 'unknown or revoked admin token');
    }
    request.principal = principalOf(found);
  });

  const who = (request: FastifyRequest): Principal => request.principal!;
  // Every route below declares what it requires (config: requires(...)); this hook alone checks it.
  installPermissionCheck(app, who);
  const list = <T>(items: T[]) => ({ items });

  // Instances
  app.get('/instances', { config: requires('read', { summary: 'List instances', returns: 'the instances ({items: InstanceView[]})' }) }, async () => list(await service.instances.list()));
  app.post('/instances', { config: requires('manage-gateways', { summary: 'Create an instance', body: instanceBody, status: 201, returns: 'the instance (InstanceView)' }) }, async (r, reply) => {
    const body = parse(instanceBody, r.body);
    return reply.code(201).send(await service.instances.create(who(r), body.name));
  });

  app.delete<{ Params: P<'name'> }>('/instances/:name', { config: requires('manage-gateways', { summary: 'Delete an instance that backs no gateway', status: 204 }) }, async (r, reply) => {
    await service.instances.delete(who(r), r.params.name);
    return reply.code(204).send();
  });

  // Nodes (gateway processes) and their health
  app.get('/nodes', { config: requires('read', { summary: 'List gateway nodes and their health', returns: 'the nodes ({items: NodeView[]})' }) }, async () => list(await service.instances.listNodes(deps.heartbeatMs)));

  // Resources
  app.get('/resources', { config: requires('read', { summary: 'List resources', returns: '{items: ResourceView[]}' }) }, async () => list(await service.resources.list()));
  app.post('/resources', { config: requires('manage-resources', { summary: 'Create a resource', body: resourceBody, status: 201, returns: 'the resource (ResourceView)' }) }, async (r, reply) => {
    return reply.code(201).send(await service.resources.create(who(r), parse(resourceBody, r.body)));
  });
  app.get<{ Params: P<'r'> }>('/resources/:r', { config: requires('read', { summary: 'Get a resource', returns: 'ResourceView' }) }, async (r) => service.resources.get(r.params.r));
  app.patch<{ Params: P<'r'> }>('/resources/:r', { config: requires('manage-resources', { summary: 'Update a resource', body: resourcePatch, returns: 'ResourceView' }) }, async (r) => {
    return service.resources.update(who(r), r.params.r, parse(resourcePatch, r.body));
  });
  app.delete<{ Params: P<'r'> }>('/resources/:r', { config: requires('manage-resources', { summary: 'Delete a resource (it must have no gateway)', status: 204 }) }, async (r, reply) => {
    await service.resources.delete(who(r), r.params.r);
    return reply.code(204).send();
  });

  // Deployments
  app.get<{ Params: P<'r'> }>('/resources/:r/deployments', { config: requires('read', { summary: 'List the deployments of a resource', returns: '{items: DeploymentView[]}' }) }, async (r) => list(await service.deployments.list(r.params.r)));
  app.post<{ Params: P<'r'> }>('/resources/:r/deployments', { config: requires('manage-resources', { summary: 'Create a deployment', body: deploymentBody, status: 201, returns: 'DeploymentView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.deployments.create(who(r), r.params.r, parse(deploymentBody, r.body)));
  });
  app.get<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('read', { summary: 'Get a deployment', returns: 'DeploymentView' }) }, async (r) => service.deployments.get(r.params.r, r.params.d));
  app.get<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d/backends', { config: requires('read', { summary: "Each backend of a deployment's pool with its live state", returns: 'DeploymentBackendsView' }) }, async (r) =>
    service.deployments.backends(r.params.r, r.params.d, deps.backends),
  );
  app.patch<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('manage-resources', { summary: 'Update a deployment', body: deploymentPatch, returns: 'DeploymentView' }) }, async (r) => {
    return service.deployments.update(who(r), r.params.r, r.params.d, parse(deploymentPatch, r.body));
  });
  app.delete<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('manage-resources', { summary: 'Delete a deployment', status: 204 }) }, async (r, reply) => {
    await service.deployments.delete(who(r), r.params.r, r.params.d);
    return reply.code(204).send();
  });

  // Projects and keys
  app.get<{ Params: P<'r'> }>('/resources/:r/projects', { config: requires('read', { summary: 'List the projects of a resource', returns: '{items: ProjectView[]}' }) }, async (r) => list(await service.projects.list(r.params.r)));
  app.post<{ Params: P<'r'> }>('/resources/:r/projects', { config: requires('manage-projects', 'r', { summary: 'Create a project (its two keys are shown once)', body: projectBody, status: 201, returns: 'CreatedProject' }) }, async (r, reply) => {
    return reply.code(201).send(await service.projects.create(who(r), r.params.r, parse(projectBody, r.body).name));
  });
  app.get<{ Params: P<'r' | 'p'> }>('/resources/:r/projects/:p', { config: requires('read', { summary: 'Get a project', returns: 'ProjectView' }) }, async (r) => service.projects.get(r.params.r, r.params.p));
  app.delete<{ Params: P<'r' | 'p'> }>('/resources/:r/projects/:p', { config: requires('manage-projects', 'r', { summary: 'Delete a project and its keys', status: 204 }) }, async (r, reply) => {
    await service.projects.delete(who(r), r.params.r, r.params.p);
    return reply.code(204).send();
  });
  app.post<{ Params: P<'r' | 'p' | 'slot'> }>('/resources/:r/projects/:p/keys/:slot/regenerate', { config: requires('manage-projects', 'r', { summary: 'Regenerate one key of a project (shown once)', returns: 'RegeneratedKey' }) }, async (r) => {
    const slot = r.params.slot;
    if (slot !== 'primary' && slot !== 'secondary') throw new TollgateError('not_found', `key slot must be primary or secondary, not "${slot}"`);
    return service.projects.regenerateKey(who(r), r.params.r, r.params.p, slot as KeySlot);
  });

  // Gateways
  // ?archived=true: the deleted gateways, whose usage and logs stay at /archived-gateways/{id}/….
  app.get('/gateways', { config: requires('read', { summary: 'List gateways (`archived=true`: the deleted ones, whose usage and logs stay at /archived-gateways/{id}/…)', query: gatewayListQuery, returns: '{items: GatewayView[]} or {items: ArchivedGatewayView[]}' }) }, async (r) =>
    parse(gatewayListQuery, r.query).archived === 'true' ? list(await service.gateways.listArchived()) : list(await service.gateways.list()),
  );
  app.post('/gateways', { config: requires('manage-gateways', { summary: 'Create a gateway (with a new or an existing instance)', body: gatewayBody, status: 201, returns: 'GatewayView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.gateways.create(who(r), parse(gatewayBody, r.body)));
  });
  app.get<{ Params: P<'g'> }>('/gateways/:g', { config: requires('read', { summary: 'Get a gateway', returns: 'GatewayView' }) }, async (r) => service.gateways.get(r.params.g));
  app.patch<{ Params: P<'g'> }>('/gateways/:g', { config: requires('manage-gateways', { summary: "Update a gateway's settings", body: gatewayPatch, returns: 'GatewayView' }) }, async (r) => {
    return service.gateways.update(who(r), r.params.g, parse(gatewayPatch, r.body));
  });
  app.delete<{ Params: P<'g'> }>('/gateways/:g', { config: requires('manage-gateways', { summary: 'Delete a gateway (`disableProjects=true` disables its enabled projects in the same step)', query: gatewayDeleteQuery, status: 204 }) }, async (r, reply) => {
    await service.gateways.delete(who(r), r.params.g, { disableProjects: parse(gatewayDeleteQuery, r.query).disableProjects === 'true' });
    return reply.code(204).send();
  });
  app.get<{ Params: P<'g'> }>('/gateways/:g/projects', { config: requires('read', { summary: "List the projects of a gateway's resource with their gateway status", returns: '{items: GatewayProjectView[]}' }) }, async (r) => list(await service.gatewayProjects.list(r.params.g)));
  app.put<{ Params: P<'g' | 'p'> }>('/gateways/:g/projects/:p', { config: requires('manage-gateways', { summary: 'Add (enable) a project on the gateway', returns: 'GatewayProjectView' }) }, async (r) => {
    return service.gatewayProjects.setStatus(who(r), r.params.g, r.params.p, 'enabled');
  });
  app.delete<{ Params: P<'g' | 'p'> }>('/gateways/:g/projects/:p', { config: requires('manage-gateways', { summary: 'Disable a project on the gateway', returns: 'GatewayProjectView' }) }, async (r) => {
    return service.gatewayProjects.setStatus(who(r), r.params.g, r.params.p, 'disabled');
  });

  // Limits
  app.get<{ Params: P<'g'> }>('/gateways/:g/limits', { config: requires('read', { summary: 'List the limits of a gateway', returns: '{items: LimitView[]}' }) }, async (r) => list(await service.limits.list(r.params.g)));
  app.post<{ Params: P<'g'> }>('/gateways/:g/limits', { config: requires('manage-gateways', { summary: 'Create a limit', body: limitBody, status: 201, returns: 'LimitView' }) }, async (r, reply) => {
    return reply.code(201).send(await service.limits.create(who(r), r.params.g, parse(limitBody, r.body)));
  });
  app.get<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('read', { summary: 'Get a limit by id', returns: 'LimitView' }) }, async (r) => service.limits.get(r.params.g, r.params.id));
  app.patch<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('manage-gateways', { summary: 'Update a limit by id', body: limitPatch, returns: 'LimitView' }) }, async (r) => {
    return service.limits.update(who(r), r.params.g, r.params.id, parse(limitPatch, r.body));
  });
  app.delete<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('manage-gateways', { summary: 'Delete a limit by id', status: 204 }) }, async (r, reply) => {
    await service.limits.delete(who(r), r.params.g, r.params.id);
    return reply.code(204).send();
  });

  // The same limits addressed by what they cap: a project's limit for all deployments, or for one.
  const scopeOf = (r: FastifyRequest<{ Params: P<'g' | 'p'> & Partial<P<'d'>> }>) => service.limits.idOf(r.params.g, r.params.p, r.params.d ?? null);
  for (const path of ['/gateways/:g/projects/:p/limit', '/gateways/:g/projects/:p/deployments/:d/limit']) {
    const scope = path.includes(':d') ? "a project's limit for one deployment" : "a project's limit for all deployments";
    app.get<{ Params: P<'g' | 'p' | 'd'> }>(path, { config: requires('read', { summary: `Get ${scope}`, returns: 'LimitView' }) }, async (r) => {
      return service.limits.get(r.params.g, await scopeOf(r));
    });
    app.patch<{ Params: P<'g' | 'p' | 'd'> }>(path, { config: requires('manage-gateways', { summary: `Update ${scope}`, body: limitPatch, returns: 'LimitView' }) }, async (r) => {
      return service.limits.update(who(r), r.params.g, await scopeOf(r), parse(limitPatch, r.body));
    });
    app.delete<{ Params: P<'g' | 'p' | 'd'> }>(path, { config: requires('manage-gateways', { summary: `Delete ${scope}`, status: 204 }) }, async (r, reply) => {
      await service.limits.delete(who(r), r.params.g, await scopeOf(r));
      return reply.code(204).send();
    });
  }

  // The whole configuration as one declarative document (docs/config-file.md)
  app.get('/config', { config: requires('read', { summary: 'Export the whole configuration as one document (docs/config-file.md)', returns: 'the configuration document (docs/config-file.md)' }) }, async () => config.export());
  // Each change of an apply is checked against the token's role (ConfigService.plan).
  app.put('/config', { config: requires('signed-in', { summary: 'Apply a configuration document (each change checked against the role)', query: applyQuery, body: configDocument, returns: 'ApplyResult: the plan and what was applied' }) }, async (r) => {
    const q = parse(applyQuery, r.query);
    return config.apply(who(r), parse(configDocument, r.body, { all: true }), {
      dryRun: q.dryRun === 'true',
      prune: q.prune === 'true',
      pruneUnnamed: q.pruneUnnamed === 'true',
    });
  });

  // Admin tokens ("users") and the audit log
  app.get('/tokens', { config: requires('manage-tokens', { summary: 'List admin tokens', returns: '{items: AdminTokenView[]}' }) }, async () => list(await service.tokens.list()));
  app.post('/tokens', { config: requires('manage-tokens', { summary: 'Create an admin token (its secret is shown once)', body: adminTokenBody, status: 201, returns: 'CreatedAdminToken' }) }, async (r, reply) => {
    return reply.code(201).send(await service.tokens.create(who(r), parse(adminTokenBody, r.body)));
  });
  app.delete<{ Params: P<'id'> }>('/tokens/:id', { config: requires('manage-tokens', { summary: 'Revoke an admin token', status: 204 }) }, async (r, reply) => {
    await service.tokens.delete(who(r), r.params.id);
    return reply.code(204).send();
  });
  app.get('/audit', { config: requires('read', { summary: 'The audit log, newest first', query: auditQuery, returns: 'Page<AuditView>' }) }, async (r) => {
    const q = parse(auditQuery, r.query);
    return service.audit.list({ limit: q.limit, ...(q.cursor ? { before: q.cursor } : {}) });
  });
  registerUsageRoutes(app, { service, usage: store.usage, limiter, agents: store.agents, mcp: store.mcp });
  registerAgentRoutes(app, { service, health: deps.agents, trustProxy: deps.trustProxy, publicUrl: deps.publicUrl });
  registerMcpRoutes(app, { service, limiter });

  app.get('/whoami', { config: requires('signed-in', { summary: 'Who is calling: the token name, role and resources', returns: 'WhoAmI' }) }, async (r): Promise<WhoAmI> => {
    const p = who(r);
    return { name: p.name, role: p.role, resources: p.resources };
  });
}
