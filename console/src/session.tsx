import { createContext, useContext } from 'react';
import type { ApiClient } from './api';
import type { Role, WhoAmI } from './api-types';

/** The signed-in admin: who the token belongs to, an API client with it, and what the role allows. */
export interface Session {
  who: WhoAmI;
  api: ApiClient;
  can: Capabilities;
  signOut(): void;
}

/** What the UI offers, mirroring the API's role checks (src/controlplane/permissions.ts). */
export interface Capabilities {
  /** Create, edit and delete resources and their deployments. */
  manageResources: boolean;
  /** Instances, gateways, their projects' gateway status, limits and settings. */
  manageGateways: boolean;
  /** Create and delete projects and regenerate their keys, in this resource. */
  manageProjects(resource: string): boolean;
}

export function capabilitiesOf(who: WhoAmI): Capabilities {
  const role: Role = who.role;
  return {
    manageResources: role === 'owner',
    manageGateways: role === 'owner' || role === 'gateway-admin',
    manageProjects: (resource) =>
      role === 'owner' || (role === 'project-admin' && (who.resources === null || who.resources.includes(resource))),
  };
}

/** The admin token lives in sessionStorage: gone when the tab closes, never in localStorage. */
const TOKEN_KEY = 'tollgate.adminToken';

export const storedToken = (): string | null => window.sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string) => window.sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = () => window.sessionStorage.removeItem(TOKEN_KEY);

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}
