import { ApiError } from '../api';
import { AgentsTab } from './AgentsTab';
import type { Gateway } from '../api-types';
import { GatewayStatusBadge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { Link } from '../router';
import { GatewayProjectsTab } from './GatewayProjectsTab';
import { GatewaySettingsTab } from './GatewaySettingsTab';
import { LimitsTab } from './LimitsTab';
import { LogsTab } from './LogsTab';
import { ToolsTab } from './ToolsTab';
import { UsageTab } from './UsageTab';
import { useApiData } from '../use-api-data';

export const GATEWAY_TABS = ['projects', 'limits', 'tools', 'agents', 'usage', 'logs', 'settings'] as const;
export type GatewayTab = (typeof GATEWAY_TABS)[number];

const TAB_LABELS: Record<GatewayTab, string> = {
  projects: 'Projects',
  limits: 'Token management',
  tools: 'Tools',
  agents: 'Agents',
  usage: 'Usage',
  logs: 'Logs',
  settings: 'Settings',
};

/** One gateway: its projects, token limits, usage, request logs and settings. */
export function GatewayPage({ name, tab }: { name: string; tab: GatewayTab }) {
  const path = `/gateways/${encodeURIComponent(name)}`;
  const gateway = useApiData<Gateway>(path, (g) => (g?.status === 'provisioning' ? 1500 : null));
  const g = gateway.data;

  if (!g) {
    if (gateway.error instanceof ApiError && gateway.error.code === 'not_found') {
      return (
        <EmptyState title={`There is no gateway “${name}”.`} action={<Link to="gateways">Back to AI Gateway</Link>}>
          It may have been deleted.
        </EmptyState>
      );
    }
    return gateway.error ? <LoadError error={gateway.error} onRetry={gateway.reload} /> : <Loading what="the gateway" />;
  }
  const base = `gateways/${encodeURIComponent(g.name)}`;
  return (
    <section aria-labelledby="gateway-title">
      <p className="breadcrumb">
        <Link to="gateways">AI Gateway</Link> / {g.name}
      </p>
      <div className="page-head">
        <h1 id="gateway-title">{g.name}</h1>
        <GatewayStatusBadge status={g.status} />
      </div>
      <dl className="facts">
        <div>
          <dt>Resource</dt>
          <dd>
            <Link to={`resources/${encodeURIComponent(g.resource)}`}>{g.resource}</Link>
          </dd>
        </div>
        <div>
          <dt>Instance</dt>
          <dd>{g.instance}</dd>
        </div>
        <div>
          <dt>Content logging</dt>
          <dd>{g.logContent ? 'On' : 'Off'}</dd>
        </div>
      </dl>
      <nav className="tabs" aria-label="Gateway sections">
        {GATEWAY_TABS.map((t) => (
          <Link key={t} to={t === 'projects' ? base : `${base}/${t}`} aria-current={t === tab ? 'page' : undefined}>
            {TAB_LABELS[t]}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {tab === 'projects' ? <GatewayProjectsTab gateway={g} /> : null}
        {tab === 'limits' ? <LimitsTab gateway={g} /> : null}
        {tab === 'tools' ? <ToolsTab gateway={g} /> : null}
        {tab === 'agents' ? <AgentsTab gateway={g} /> : null}
        {tab === 'usage' ? <UsageTab gateway={g} /> : null}
        {tab === 'logs' ? <LogsTab gateway={g} /> : null}
        {tab === 'settings' ? <GatewaySettingsTab gateway={g} onChanged={gateway.replace} /> : null}
      </div>
    </section>
  );
}
