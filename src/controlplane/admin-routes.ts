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
import { registerMcpRoutes } from './mcp-routes.js';
import type { WhoAmI } from './api-types.js';
import { principalOf, type Principal } from './permissions.js';
import { installPermissionCheck, requires } from './route-permissions.js';
import {
  adminTokenBody,
  applyQuery,
  auditQuery,
  deploymentBody,
  deploymentPatch,
  gatewayBody,
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
  },
): Promise<void> {
  const { service, config, store, limiter } = deps;
  app.decorateRequest('principal', null);

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
  app.get('/instances', { config: requires('read') }, async () => list(await service.instances.list()));
  app.post('/instances', { config: requires('manage-gateways') }, async (r, reply) => {
    const body = parse(instanceBody, r.body);
    return reply.code(201).send(await service.instances.create(who(r), body.name));
  });

  // Nodes (gateway processes) and their health
  app.get('/nodes', { config: requires('read') }, async () => list(await service.instances.listNodes(deps.heartbeatMs)));

  // Resources
  app.get('/resources', { config: requires('read') }, async () => list(await service.resources.list()));
  app.post('/resources', { config: requires('manage-resources') }, async (r, reply) => {
    return reply.code(201).send(await service.resources.create(who(r), parse(resourceBody, r.body)));
  });
  app.get<{ Params: P<'r'> }>('/resources/:r', { config: requires('read') }, async (r) => service.resources.get(r.params.r));
  app.patch<{ Params: P<'r'> }>('/resources/:r', { config: requires('manage-resources') }, async (r) => {
    return service.resources.update(who(r), r.params.r, parse(resourcePatch, r.body));
  });
  app.delete<{ Params: P<'r'> }>('/resources/:r', { config: requires('manage-resources') }, async (r, reply) => {
    await service.resources.delete(who(r), r.params.r);
    return reply.code(204).send();
  });

  // Deployments
  app.get<{ Params: P<'r'> }>('/resources/:r/deployments', { config: requires('read') }, async (r) => list(await service.deployments.list(r.params.r)));
  app.post<{ Params: P<'r'> }>('/resources/:r/deployments', { config: requires('manage-resources') }, async (r, reply) => {
    return reply.code(201).send(await service.deployments.create(who(r), r.params.r, parse(deploymentBody, r.body)));
  });
  app.get<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('read') }, async (r) => service.deployments.get(r.params.r, r.params.d));
  app.get<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d/backends', { config: requires('read') }, async (r) =>
    service.deployments.backends(r.params.r, r.params.d, deps.backends),
  );
  app.patch<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('manage-resources') }, async (r) => {
    return service.deployments.update(who(r), r.params.r, r.params.d, parse(deploymentPatch, r.body));
  });
  app.delete<{ Params: P<'r' | 'd'> }>('/resources/:r/deployments/:d', { config: requires('manage-resources') }, async (r, reply) => {
    await service.deployments.delete(who(r), r.params.r, r.params.d);
    return reply.code(204).send();
  });

  // Projects and keys
  app.get<{ Params: P<'r'> }>('/resources/:r/projects', { config: requires('read') }, async (r) => list(await service.projects.list(r.params.r)));
  app.post<{ Params: P<'r'> }>('/resources/:r/projects', { config: requires('manage-projects', 'r') }, async (r, reply) => {
    return reply.code(201).send(await service.projects.create(who(r), r.params.r, parse(projectBody, r.body).name));
  });
  app.get<{ Params: P<'r' | 'p'> }>('/resources/:r/projects/:p', { config: requires('read') }, async (r) => service.projects.get(r.params.r, r.params.p));
  app.delete<{ Params: P<'r' | 'p'> }>('/resources/:r/projects/:p', { config: requires('manage-projects', 'r') }, async (r, reply) => {
    await service.projects.delete(who(r), r.params.r, r.params.p);
    return reply.code(204).send();
  });
  app.post<{ Params: P<'r' | 'p' | 'slot'> }>('/resources/:r/projects/:p/keys/:slot/regenerate', { config: requires('manage-projects', 'r') }, async (r) => {
    const slot = r.params.slot;
    if (slot !== 'primary' && slot !== 'secondary') throw new TollgateError('not_found', `key slot must be primary or secondary, not "${slot}"`);
    return service.projects.regenerateKey(who(r), r.params.r, r.params.p, slot as KeySlot);
  });

  // Gateways
  app.get('/gateways', { config: requires('read') }, async () => list(await service.gateways.list()));
  app.post('/gateways', { config: requires('manage-gateways') }, async (r, reply) => {
    return reply.code(201).send(await service.gateways.create(who(r), parse(gatewayBody, r.body)));
  });
  app.get<{ Params: P<'g'> }>('/gateways/:g', { config: requires('read') }, async (r) => service.gateways.get(r.params.g));
  app.patch<{ Params: P<'g'> }>('/gateways/:g', { config: requires('manage-gateways') }, async (r) => {
    return service.gateways.update(who(r), r.params.g, parse(gatewayPatch, r.body));
  });
  app.delete<{ Params: P<'g'> }>('/gateways/:g', { config: requires('manage-gateways') }, async (r, reply) => {
    await service.gateways.delete(who(r), r.params.g);
    return reply.code(204).send();
  });
  app.get<{ Params: P<'g'> }>('/gateways/:g/projects', { config: requires('read') }, async (r) => list(await service.gatewayProjects.list(r.params.g)));
  app.put<{ Params: P<'g' | 'p'> }>('/gateways/:g/projects/:p', { config: requires('manage-gateways') }, async (r) => {
    return service.gatewayProjects.setStatus(who(r), r.params.g, r.params.p, 'enabled');
  });
  app.delete<{ Params: P<'g' | 'p'> }>('/gateways/:g/projects/:p', { config: requires('manage-gateways') }, async (r) => {
    return service.gatewayProjects.setStatus(who(r), r.params.g, r.params.p, 'disabled');
  });

  // Limits
  app.get<{ Params: P<'g'> }>('/gateways/:g/limits', { config: requires('read') }, async (r) => list(await service.limits.list(r.params.g)));
  app.post<{ Params: P<'g'> }>('/gateways/:g/limits', { config: requires('manage-gateways') }, async (r, reply) => {
    return reply.code(201).send(await service.limits.create(who(r), r.params.g, parse(limitBody, r.body)));
  });
  app.get<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('read') }, async (r) => service.limits.get(r.params.g, r.params.id));
  app.patch<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('manage-gateways') }, async (r) => {
    return service.limits.update(who(r), r.params.g, r.params.id, parse(limitPatch, r.body));
  });
  app.delete<{ Params: P<'g' | 'id'> }>('/gateways/:g/limits/:id', { config: requires('manage-gateways') }, async (r, reply) => {
    await service.limits.delete(who(r), r.params.g, r.params.id);
    return reply.code(204).send();
  });

  // The whole configuration as one declarative document (docs/config-file.md)
  app.get('/config', { config: requires('read') }, async () => config.export());
  // Each change of an apply is checked against the token's role (ConfigService.plan).
  app.put('/config', { config: requires('signed-in') }, async (r) => {
    const q = parse(applyQuery, r.query);
    return config.apply(who(r), parse(configDocument, r.body), { dryRun: q.dryRun === 'true', prune: q.prune === 'true' });
  });

  // Admin tokens ("users") and the audit log
  app.get('/tokens', { config: requires('manage-tokens') }, async () => list(await service.tokens.list()));
  app.post('/tokens', { config: requires('manage-tokens') }, async (r, reply) => {
    return reply.code(201).send(await service.tokens.create(who(r), parse(adminTokenBody, r.body)));
  });
  app.delete<{ Params: P<'id'> }>('/tokens/:id', { config: requires('manage-tokens') }, async (r, reply) => {
    await service.tokens.delete(who(r), r.params.id);
    return reply.code(204).send();
  });
  app.get('/audit', { config: requires('read') }, async (r) => {
    const q = parse(auditQuery, r.query);
    return service.audit.list({ limit: q.limit, ...(q.cursor ? { before: q.cursor } : {}) });
  });
  registerUsageRoutes(app, { service, usage: store.usage, limiter, mcp: store.mcp });
  registerMcpRoutes(app, { service, limiter });

  app.get('/whoami', { config: requires('signed-in') }, async (r): Promise<WhoAmI> => {
    const p = who(r);
    return { name: p.name, role: p.role, resources: p.resources };
  });
}
