import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../errors.js';
import type { RouteDoc } from './openapi/route-doc.js';
import { authorize, type Permission, type Principal } from './permissions.js';

/**
 * What an admin route requires, declared with the route (`config: requires('read')`) and checked
 * in one hook. `resourceParam` names the path parameter holding the resource the change is about,
 * for permissions scoped to resources (a project-admin manages the projects of its resources only).
 * `signed-in` admits any admin token: the route decides itself (whoami; a config apply checks
 * every change it makes). `public` needs no token at all (the API reference only).
 */
export type RoutePermission = { permission: Permission; resourceParam?: string } | { permission: 'signed-in' } | { permission: 'public' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every admin route declares one; a route without it is refused (fail closed). */
    access?: RoutePermission;
    /** The route's entry in the API reference (GET /admin/v1/openapi.json); a test requires one on every admin route. */
    doc?: RouteDoc;
  }
}

export interface RouteConfig {
  access: RoutePermission;
  doc?: RouteDoc;
}

/**
 * Route config declaring what the route requires and, optionally, its reference entry:
 * `requires('read', { summary: 'List instances' })`, `requires('manage-projects', 'r', { summary, body })`.
 */
export function requires(permission: Permission | 'signed-in' | 'public', doc?: RouteDoc): RouteConfig;
export function requires(permission: Permission, resourceParam: string, doc?: RouteDoc): RouteConfig;
export function requires(permission: Permission | 'signed-in' | 'public', second?: string | RouteDoc, third?: RouteDoc): RouteConfig {
  const resourceParam = typeof second === 'string' ? second : undefined;
  const doc = typeof second === 'object' ? second : third;
  const access: RoutePermission =
    permission === 'signed-in' || permission === 'public'
      ? { permission }
      : resourceParam === undefined
        ? { permission }
        : { permission, resourceParam };
  return doc === undefined ? { access } : { access, doc };
}

/** Throws unless the principal holds what the route declares; a route that declares nothing is refused. */
export function checkRoutePermission(
  principal: Principal,
  access: RoutePermission | undefined,
  params: Readonly<Record<string, string | undefined>>,
  route: string,
): void {
  if (access === undefined) {
    throw new TollgateError('forbidden', `the admin route ${route} declares no permission, so it is refused to every admin token`);
  }
  if (access.permission === 'signed-in' || access.permission === 'public') return;
  authorize(principal, access.permission, access.resourceParam === undefined ? undefined : params[access.resourceParam]);
}

/**
 * The one place admin routes are authorized: after authentication (onRequest) and body parsing,
 * before the handler, as the hand-written checks at the top of each handler did.
 */
export function installPermissionCheck(app: FastifyInstance, who: (request: FastifyRequest) => Principal): void {
  app.addHook('preHandler', async (request) => {
    if (request.is404) return;
    if (request.routeOptions.config.access?.permission === 'public') return;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    checkRoutePermission(who(request), request.routeOptions.config.access, params, `${request.method} ${request.routeOptions.url ?? request.url}`);
  });
}
