import { useId, useState } from 'react';
import { messageOf, query } from '../api';
import { OUTCOMES, type Deployment, type Gateway, type GatewayProject, type List, type LogEntry, type LogPage, type Outcome } from '../api-types';
import { Badge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, formatNumber, OUTCOME_LABELS } from '../format';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

const PAGE_SIZE = 50;

interface Filters {
  project: string;
  deployment: string;
  outcome: Outcome | '';
}

/** The request log: filter by project, deployment and outcome; newest first, "Load more" for older. */
export function LogsTab({ gateway }: { gateway: Gateway }) {
  const { api } = useSession();
  const base = `/gateways/${encodeURIComponent(gateway.name)}`;
  const [filters, setFilters] = useState<Filters>({ project: '', deployment: '', outcome: '' });
  const projects = useApiData<List<GatewayProject>>(`${base}/projects`);
  const deployments = useApiData<List<Deployment>>(`/resources/${encodeURIComponent(gateway.resource)}/deployments`);
  const firstPage = useApiData<LogPage>(`${base}/logs${query({ ...filters, limit: PAGE_SIZE })}`);
  // Older pages, appended by "Load more"; they belong to the first page they follow.
  const [more, setMore] = useState<{ after: LogPage; items: LogEntry[]; nextCursor: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<{ after: LogPage; message: string } | null>(null);
  const ids = { project: useId(), deployment: useId(), outcome: useId() };

  const page = firstPage.data;
  const extra = more && more.after === page ? more : null;
  const items = page ? [...page.items, ...(extra?.items ?? [])] : undefined;
  const nextCursor = extra ? extra.nextCursor : (page?.nextCursor ?? null);

  const loadMore = async () => {
    if (!page || !nextCursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const next = await api.get<LogPage>(`${base}/logs${query({ ...filters, limit: PAGE_SIZE, cursor: nextCursor })}`);
      setMore({ after: page, items: [...(extra?.items ?? []), ...next.items], nextCursor: next.nextCursor });
    } catch (err) {
      setMoreError({ after: page, message: messageOf(err) });
    } finally {
      setLoadingMore(false);
    }
  };
  const filtered = filters.project !== '' || filters.deployment !== '' || filters.outcome !== '';
  // Content is kept only while the gateway's content logging is on: a column only when some has it.
  const withContent = items?.some((e) => e.content !== null) ?? false;

  return (
    <section aria-labelledby="logs-title">
      <div className="section-head">
        <h2 id="logs-title">Logs</h2>
        <button type="button" onClick={firstPage.reload}>
          Refresh
        </button>
      </div>
      <div className="filters" role="search" aria-label="Filter logs">
        <div className="field">
          <label htmlFor={ids.project}>Project</label>
          <select id={ids.project} value={filters.project} onChange={(e) => setFilters({ ...filters, project: e.target.value })}>
            <option value="">All projects</option>
            {projects.data?.items.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.deployment}>Deployment</label>
          <select id={ids.deployment} value={filters.deployment} onChange={(e) => setFilters({ ...filters, deployment: e.target.value })}>
            <option value="">All deployments</option>
            {deployments.data?.items.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.outcome}>Outcome</label>
          <select id={ids.outcome} value={filters.outcome} onChange={(e) => setFilters({ ...filters, outcome: e.target.value as Outcome | '' })}>
            <option value="">All outcomes</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {OUTCOME_LABELS[o]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <LoadError error={firstPage.error} onRetry={firstPage.reload} />
      {!items ? (
        firstPage.error ? null : <Loading what="logs" />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? 'No requests match these filters.' : 'No requests logged yet.'}>
          {filtered ? (
            'Clear a filter, or refresh once new requests have been made.'
          ) : (
            <>
              Requests made with a project key through <code>{window.location.origin}/openai/v1</code> appear here a moment later.
            </>
          )}
        </EmptyState>
      ) : (
        <>
          <div className="table-scroll">
            <table aria-label="Request log" className="logs">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Project</th>
                  <th scope="col">Deployment</th>
                  <th scope="col">Status</th>
                  <th scope="col">Outcome</th>
                  <th scope="col" className="num">
                    Tokens
                  </th>
                  <th scope="col" className="num">
                    Latency
                  </th>
                  <th scope="col">Request id</th>
                  {withContent ? <th scope="col">Content</th> : null}
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap">{formatDateTime(e.time)}</td>
                    <td>{e.project}</td>
                    <td>{e.deployment ?? '—'}</td>
                    <td className="num">{e.status}</td>
                    <td>
                      <OutcomeBadge outcome={e.outcome} />
                      {e.errorCode ? <div className="muted small">{e.errorCode}</div> : null}
                    </td>
                    <td className="num" title={`prompt ${e.tokens.prompt} + completion ${e.tokens.completion}`}>
                      {formatNumber(e.tokens.total)}
                    </td>
                    <td className="num nowrap">{formatNumber(e.latencyMs)} ms</td>
                    <td className="mono small">{e.requestId}</td>
                    {withContent ? (
                      <td>
                        {e.content === null ? null : (
                          <details>
                            <summary>Show</summary>
                            <pre className="log-content">{JSON.stringify(e.content, null, 2)}</pre>
                          </details>
                        )}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span className="muted">
              {items.length} request{items.length === 1 ? '' : 's'} shown
            </span>
            {nextCursor ? (
              <button type="button" onClick={loadMore} disabled={loadingMore}>
                {loadingMore ? 'Loading…' : 'Load more'}
              </button>
            ) : null}
            {moreError && moreError.after === page ? (
              <span className="form-error" role="alert">
                {moreError.message}
              </span>
            ) : null}
          </div>
        </>
      )}
    </section>
  );
}

function OutcomeBadge({ outcome }: { outcome: Outcome }) {
  const tone = outcome === 'ok' ? 'ok' : outcome === 'rate_limited' || outcome === 'quota_exceeded' ? 'warn' : 'error';
  return <Badge tone={tone}>{OUTCOME_LABELS[outcome] ?? outcome}</Badge>;
}
