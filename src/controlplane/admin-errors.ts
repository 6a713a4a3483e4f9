import { TollgateError } from '../errors.js';

/**
 * The admin API's error messages, each written once: the services, the routes and the config
 * apply build their errors here, so one situation always reads the same. `param` names the request
 * field at fault, so a form can show the message next to it.
 */

const withParam = (param?: string) => (param === undefined ? {} : { param });

export const notFound = (message: string, param?: string) => new TollgateError('not_found', message, withParam(param));
export const conflict = (message: string, param = 'name') => new TollgateError('already_exists', message, withParam(param));
export const invalid = (message: string, param?: string) => new TollgateError('validation_failed', message, withParam(param));

/** "resource "x" does not exist", "instance "y" does not exist", "gateway "z" does not exist". */
export const missing = (kind: 'resource' | 'instance' | 'gateway', name: string, param?: string) => notFound(`${kind} "${name}" does not exist`, param);

/** A deployment or project looked up in a resource by its name (the text also reads in a config apply's problems). */
export const notInResource = (kind: 'deployment' | 'project', name: string, resource: string) => `${kind} "${name}" does not exist in resource "${resource}"`;
export const missingInResource = (kind: 'deployment' | 'project', name: string, resource: string) => notFound(notInResource(kind, name, resource));

/** A deployment or project named on a gateway: it must belong to the gateway's resource. */
export const missingOnGateway = (kind: 'deployment' | 'project', name: string, gateway: string, param?: string) =>
  notFound(`${kind} "${name}" does not exist in the resource of gateway "${gateway}"`, param);

export const alreadyExists = (what: string, param?: string) => conflict(`${what} already exists`, param);

/** `scope`: `deployment "chat"` or `all deployments`. */
export const limitExists = (project: string, scope: string) =>
  new TollgateError('limit_exists', `project "${project}" already has a limit for ${scope} on this gateway; edit that one`, { param: 'deployment' });

/** The start of every role refusal: `the viewer role of admin token "ci" does not allow …`. */
export const roleRefusal = (principal: { role: string; name: string }, what: string) =>
  new TollgateError('forbidden', `the ${principal.role} role of admin token "${principal.name}" does not allow ${what}`);

/** A permission as a refusal names it: `manage-gateways` reads "manage gateways". */
export const permissionWords = (permission: string) => permission.replace('-', ' ');
