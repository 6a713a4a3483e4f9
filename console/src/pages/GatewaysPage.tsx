import { useState } from 'react';
import type { Gateway, GatewayUsage, List, UsageOverview } from '../api-types';
import { GatewayStatusBadge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, formatNumber } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { AddGatewayDialog } from './AddGatewayDialog';

/** While a gateway is provisioning, the list refreshes itself until a node has loaded it. */
const PROVISIONING_REFRESH_MS = 1500;
const USAGE_REFRESH_MS = 15_000;

/** The AI Gateway tab: every gateway with its resource, instance and status. */
export function GatewaysPage() {
  const { can } = useSession();
  const [adding, setAdding] = useState(false);
  const gateways = useApiData<List<Gateway>>('/gateways', (data) =>
    data?.items.some((g) => g.status === 'provisioning') ? PROVISIONING_REFRESH_MS : null,
  );
  const items = gateways.data?.items;
  // Today's use (since 00:00 UTC, when daily quotas reset), beside each gateway.
  const overview = useApiData<UsageOverview>('/usage', USAGE_REFRESH_MS);
  const usageOf = new Map<string, GatewayUsage>(overview.data?.gateways.map((g) => [g.name, g]) ?? []);

  const addButton = can.manageGateways ? (
    <button type="button" className="primary" onClick={() => setAdding(true)}>
      Add AI Gateway
    </button>
  ) : null;

  return (
    <section aria-labelledby="gateways-title">
      <div className="page-head">
        <h1 id="gateways-title">AI Gateway</h1>
        {/* When the list is empty, its empty state offers the action instead. */}
        {items?.length === 0 ? null : addButton}
      </div>
      <p className="lede">
        A gateway governs one resource: it enables its projects and enforces their token limits on every request to the
        resource's deployments. Deleted gateways keep their history: see <Link to="archived-gateways">archived gateways</Link>.
      </p>
      <LoadError error={gateways.error} onRetry={gateways.reload} />
      {!items ? (
        gateways.error ? null : <Loading what="gateways" />
      ) : items.length === 0 ? (
        <EmptyState title="No AI gateways yet." action={addButton}>
          {can.manageGateways ? (
            <>
              Add one to govern a resource's deployments. No resource yet? <Link to="resources">Create a resource</Link> with a
              deployment first.
            </>
          ) : (
            'An owner or gateway-admin can add one.'
          )}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Gateways">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Resource</th>
                <th scope="col">Instance</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Enabled projects
                </th>
                <th scope="col" className="num">
                  Tokens today
                </th>
                <th scope="col" className="num">
                  Refusals today
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((g) => (
                <tr key={g.name}>
                  <td>
                    <Link to={`gateways/${encodeURIComponent(g.name)}`}>{g.name}</Link>
                  </td>
                  <td>
                    <Link to={`resources/${encodeURIComponent(g.resource)}`}>{g.resource}</Link>
                  </td>
                  <td>{g.instance}</td>
                  <td>
                    <GatewayStatusBadge status={g.status} />
                  </td>
                  <UsageCells usage={usageOf.get(g.name)} />
                  <td>{formatDateTime(g.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding ? (
        <AddGatewayDialog
          existing={items ?? []}
          onClose={() => setAdding(false)}
          onAdded={() => {
            // Back to the list: it shows the new gateway provisioning, then enabled.
            setAdding(false);
            gateways.reload();
          }}
        />
      ) : null}
    </section>
  );
}

/** A gateway's enabled projects, tokens and refusals today; dashes until the overview is in. */
function UsageCells({ usage }: { usage: GatewayUsage | undefined }) {
  if (!usage) {
    return (
      <>
        <td className="num muted">—</td>
        <td className="num muted">—</td>
        <td className="num muted">—</td>
      </>
    );
  }
  return (
    <>
      <td className="num">
        {usage.enabledProjects} of {usage.projects}
      </td>
      <td className="num">{formatNumber(usage.tokens.total)}</td>
      <td className="num" title="429 and 403 refusals by a limit">
        {formatNumber(usage.refusals)}
      </td>
    </>
  );
}
