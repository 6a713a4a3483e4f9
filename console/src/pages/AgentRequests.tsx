import type { AgentLogPage, Gateway } from '../api-types';
import { formatTime } from '../format';
import { LoadError } from '../components/LoadError';
import { useApiData } from '../use-api-data';

/** The gateway's latest agent requests (`…/logs?kind=agent`), newest first; refreshed while shown. */
export function AgentRequests({ gateway }: { gateway: Gateway }) {
  const page = useApiData<AgentLogPage>(`/gateways/${encodeURIComponent(gateway.name)}/logs?kind=agent&limit=20`, () => 5000, { keepPrevious: true });
  const items = page.data?.items;
  return (
    <section className="subsection" aria-labelledby="agent-requests-title">
      <h3 id="agent-requests-title">Recent agent requests</h3>
      <LoadError error={page.error} onRetry={page.reload} />
      {!items ? null : items.length === 0 ? (
        <p className="lede">No agent requests yet.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Recent agent requests">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Agent</th>
                <th scope="col">Project</th>
                <th scope="col">Method</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <td>{formatTime(r.at)}</td>
                  <td>{r.agent}</td>
                  <td>{r.project}</td>
                  <td>
                    <code>{r.rpcMethod ?? r.method}</code>
                    {r.streamed ? ' (stream)' : ''}
                  </td>
                  <td className="num">{r.status}</td>
                  <td>{r.errorCode ?? r.outcome}</td>
                  <td className="num">{Math.round(r.latencyMs)} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
