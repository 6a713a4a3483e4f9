import { query } from '../api';
import type { ArchivedGateway, List, UsageReport } from '../api-types';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, formatNumber } from '../format';
import { Link } from '../router';
import { useApiData } from '../use-api-data';
import { LogsView } from './LogsTab';

/** Deleted gateways: their usage and logs stay, filed under their id (a new gateway of the same name starts empty). */
export function ArchivedGatewaysPage() {
  const archived = useApiData<List<ArchivedGateway>>('/gateways?archived=true');
  const items = archived.data?.items;
  return (
    <section aria-labelledby="archived-title">
      <div className="page-head">
        <h1 id="archived-title">Archived gateways</h1>
      </div>
      <p className="lede">
        A deleted gateway keeps its history: its usage and request logs stay here. A new gateway with the same name starts with none of it.
      </p>
      <LoadError error={archived.error} onRetry={archived.reload} />
      {!items ? (
        archived.error ? null : <Loading what="archived gateways" />
      ) : items.length === 0 ? (
        <EmptyState title="No deleted gateways." action={<Link to="gateways">Go to AI Gateway</Link>}>
          When a gateway is deleted, its history is kept and listed here.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Archived gateways">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Resource</th>
                <th scope="col">Instance</th>
                <th scope="col">Created</th>
                <th scope="col">Deleted</th>
                <th scope="col">Id</th>
              </tr>
            </thead>
            <tbody>
              {items.map((g) => (
                <tr key={g.id}>
                  <th scope="row">
                    <Link to={`archived-gateways/${encodeURIComponent(g.id)}`}>{g.name}</Link>
                  </th>
                  <td>{g.resource}</td>
                  <td>{g.instance}</td>
                  <td>{formatDateTime(g.createdAt)}</td>
                  <td>{formatDateTime(g.deletedAt)}</td>
                  <td className="mono small">{g.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** One deleted gateway's history: its totals over its whole life, and its request log. */
export function ArchivedGatewayPage({ id }: { id: string }) {
  const base = `/archived-gateways/${encodeURIComponent(id)}`;
  const gateway = useApiData<ArchivedGateway>(base);
  const g = gateway.data;
  const usage = useApiData<UsageReport>(g ? `${base}/usage${query({ from: g.createdAt, to: g.deletedAt, interval: 'day' })}` : null);
  const totals = usage.data?.totals;
  return (
    <section aria-labelledby="archived-gateway-title">
      <p className="breadcrumb">
        <Link to="archived-gateways">Archived gateways</Link> /
      </p>
      <div className="page-head">
        <h1 id="archived-gateway-title">{g ? `${g.name} (deleted)` : 'Archived gateway'}</h1>
      </div>
      <LoadError error={gateway.error ?? usage.error} onRetry={gateway.reload} />
      {!g ? (
        gateway.error ? null : <Loading what="the archived gateway" />
      ) : (
        <>
          <p className="lede">
            Resource {g.resource}, instance {g.instance}; created {formatDateTime(g.createdAt)}, deleted {formatDateTime(g.deletedAt)}.
          </p>
          {totals ? (
            <dl className="totals" aria-label="Totals over its life">
              <div>
                <dt>Total tokens</dt>
                <dd>{formatNumber(totals.tokens.total)}</dd>
              </div>
              <div>
                <dt>Requests</dt>
                <dd>{formatNumber(totals.requests.total)}</dd>
              </div>
              <div>
                <dt>Refusals</dt>
                <dd>{formatNumber(totals.requests.rate_limited + totals.requests.quota_exceeded + totals.requests.never_fits)}</dd>
              </div>
            </dl>
          ) : null}
          <LogsView base={base} name={g.name} resource={g.resource} projectsPath={null} />
        </>
      )}
    </section>
  );
}
