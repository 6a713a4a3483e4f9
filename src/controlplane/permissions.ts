import type { AdminToken, Role } from '../domain/model.js';
import { permissionWords, roleRefusal } from './admin-errors.js';

export type Permission = 'read' | 'manage-resources' | 'manage-gateways' | 'manage-projects' | 'manage-tokens';

/** What each role may do (DESIGN.md: owner all; gateway-admin instances, gateways, limits; ...). */
const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(['read', 'manage-resources', 'manage-gateways', 'manage-projects', 'manage-tokens']),
  'gateway-admin': new Set(['read', 'manage-gateways']),
  'project-admin': new Set(['read', 'manage-projects']),
  viewer: new Set(['read']),
};

/** Who is calling the admin API: the token's identity, never the token itself. */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  /** Resource names a project-admin is limited to; null means all. */
  resources: readonly string[] | null;
}

export const principalOf = (t: AdminToken): Principal => ({ id: t.id, name: t.name, role: t.role, resources: t.resources });

/** The identity recorded in the audit log for changes made outside the API (CLI on the data dir, seeding). */
export const SYSTEM_PRINCIPAL: Principal = { id: 'system', name: 'system', role: 'owner', resources: null };

export function can(principal: Principal, permission: Permission, resourceName?: string): boolean {
  if (!GRANTS[principal.role].has(permission)) return false;
  if (permission === 'manage-projects' && principal.role === 'project-admin' && principal.resources !== null) {
    return resourceName !== undefined && principal.resources.includes(resourceName);
  }
  return true;
}

export function authorize(principal: Principal, permission: Permission, resourceName?: string): void {
  if (can(principal, permission, resourceName)) return;
  const scope = resourceName && principal.role === 'project-admin' ? ` on resource "${resourceName}"` : '';
  throw roleRefusal(principal, `${permissionWords(permission)}${scope}`);
}
