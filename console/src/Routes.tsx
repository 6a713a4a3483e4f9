import { useEffect, type ReactElement } from 'react';
import { EmptyState } from './components/EmptyState';
import { GatewayPage, GATEWAY_TABS, type GatewayTab } from './pages/GatewayPage';
import { GatewaysPage } from './pages/GatewaysPage';
import { OverviewPage } from './pages/OverviewPage';
import { ArchivedGatewayPage, ArchivedGatewaysPage } from './pages/ArchivedGatewaysPage';
import { ResourcePage } from './pages/ResourcePage';
import { ResourcesPage } from './pages/ResourcesPage';
import { AuditPage } from './pages/AuditPage';
import { InstancesPage } from './pages/InstancesPage';
import { NodesPage } from './pages/NodesPage';
import { TokensPage } from './pages/TokensPage';
import { Link, navigate, usePath } from './router';

/** Pages by path: overview, gateways, gateways/{g}[/{tab}], resources, resources/{r}, and the admin pages (ADMIN_PAGES). */
export function Routes() {
  const path = usePath();
  const parts = path === '' ? [] : path.split('/').map(decodeSegment);
  useEffect(() => {
    if (parts.length === 0) navigate('gateways', { replace: true });
  }, [parts.length]);

  const [section, name, tab, ...rest] = parts;
  if (section === undefined) return null;
  if (section === 'gateways' && rest.length === 0) {
    if (name === undefined) return <GatewaysPage />;
    if (tab === undefined || (GATEWAY_TABS as readonly string[]).includes(tab)) {
      return <GatewayPage key={name} name={name} tab={(tab ?? 'projects') as GatewayTab} />;
    }
  }
  if (section === 'overview' && name === undefined) return <OverviewPage />;
  if (section === 'archived-gateways' && tab === undefined) {
    return name === undefined ? <ArchivedGatewaysPage /> : <ArchivedGatewayPage key={name} id={name} />;
  }
  if (section === 'resources' && tab === undefined) {
    return name === undefined ? <ResourcesPage /> : <ResourcePage key={name} name={name} />;
  }
  const AdminPage = ADMIN_PAGES[section];
  if (AdminPage && name === undefined) return <AdminPage />;
  return (
    <EmptyState title="There is no such page." action={<Link to="gateways">Go to AI Gateway</Link>}>
      The address /console/{path} does not match a page of the console.
    </EmptyState>
  );
}

/** One-page sections without sub-paths. */
const ADMIN_PAGES: Partial<Record<string, () => ReactElement>> = {
  instances: InstancesPage,
  nodes: NodesPage,
  tokens: TokensPage,
  audit: AuditPage,
};

/** A malformed escape (a hand-typed "%") names no page rather than breaking the app. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
