import type { GatewayNode, List } from '../api-types';
import { Badge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, viewerTimeZone } from '../format';
import { useApiData } from '../use-api-data';

/** Health is fresh enough at this pace: a node reports every few seconds. */
const REFRESH_MS = 5000;

/** The gateway nodes that reported in: where they run, what they serve, whether they are alive and current. */
export function NodesPage() {
  const nodes = useApiData<List<GatewayNode>>('/nodes', REFRESH_MS);
  const items = nodes.data?.items;
  return (
    <section aria-labelledby="nodes-title">
      <div className="page-head">
        <h1 id="nodes-title">Nodes</h1>
      </div>
      <p className="lede">
        Every gateway process reports in. A live node serving the latest configuration is up to date; a stale one has not reported
        recently. Times in {viewerTimeZone()}; refreshed every {REFRESH_MS / 1000} s.
      </p>
      <LoadError error={nodes.error} onRetry={nodes.reload} />
      {!items ? (
        nodes.error ? null : <Loading what="nodes" />
      ) : items.length === 0 ? (
        <EmptyState title="No nodes have reported in.">
          Start one with <code>tollgate start</code>, or <code>tollgate serve --instance NAME</code> in a cluster.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Nodes">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Instance</th>
                <th scope="col">Address</th>
                <th scope="col">Version</th>
                <th scope="col">Config</th>
                <th scope="col">Health</th>
                <th scope="col">Started</th>
                <th scope="col">Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {items.map((n) => (
                <tr key={n.id}>
                  <td className="mono">{n.id}</td>
                  <td>{n.instance === '*' ? 'every instance' : n.instance}</td>
                  <td className="mono">{n.address}</td>
                  <td>{n.version}</td>
                  <td>
                    {n.configVersion} {n.configCurrent ? <Badge tone="ok">Current</Badge> : <Badge tone="warn">Behind</Badge>}
                  </td>
                  <td>{n.status === 'live' ? <Badge tone="ok">Live</Badge> : <Badge tone="error">Stale</Badge>}</td>
                  <td className="nowrap">{formatDateTime(n.startedAt)}</td>
                  <td className="nowrap">{formatDateTime(n.heartbeatAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
