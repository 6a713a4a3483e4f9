import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../errors.js';
import { authorize, type Permission, type Principal } from './permissions.js';

/**
 * What an admin route requires, declared with the route (`config: requires('read')`) and checked
 * in one hook. `resourceParam` names the path parameter holding the resource the change is about,
 * for permissions scoped to resources (a project-admin manages the projects of its resources only).
 * `signed-in` admits any admin token: the route decides itself (whoami; a config apply checks
 * every change it makes).
 */
export type RoutePermission = { permission: Permission; resourceParam?: string } | { permission: 'signed-in' };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every admin route declares one; a route without it is refused (fail closed). */
    access?: RoutePermission;
  }
}

/** Route config declaring what the route requires. */
export function requires(permission: Permission | 'signed-in', resourceParam?: string): { access: RoutePermission } {
  if (permission === 'signed-in') return { access: { permission } };
  return { access: resourceParam === undefined ? { permission } : { permission, resourceParam } };
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
  if (access.permission === 'signed-in') return;
  authorize(principal, access.permission, access.resourceParam === undefined ? undefined : params[access.resourceParam]);
}

/**
 * The one place admin routes are authorized: after authentication (onRequest) and body parsing,
 * before the handler, as the hand-written checks at the top of each handler did.
 */
export function installPermissionCheck(app: FastifyInstance, who: (request: FastifyRequest) => Principal): void {
  app.addHook('preHandler', async (request) => {
    if (request.is404) return;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    checkRoutePermission(who(request), request.routeOptions.config.access, params, `${request.method} ${request.routeOptions.url ?? request.url}`);
  });
}
