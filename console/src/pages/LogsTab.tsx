import { Fragment, useId, useState, type FormEvent } from 'react';
import { messageOf, query } from '../api';
import { OUTCOMES, type Deployment, type Gateway, type GatewayProject, type List, type LogEntry, type LogPage, type Outcome } from '../api-types';
import { Badge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, formatNumber, OUTCOME_LABELS } from '../format';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { LogDetails } from './LogDetails';
import { download, logsCsv } from './logs-csv';

const PAGE_SIZE = 50;
/** How often follow mode asks for new requests. */
const FOLLOW_MS = 2000;

/** Time ranges offered, in ms back from when chosen; 0: the whole log. */
const RANGES = [
  ['all', 'Any time', 0],
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
] as const;
type RangeKey = (typeof RANGES)[number][0];

interface Filters {
  project: string;
  deployment: string;
  outcome: Outcome | '';
  requestId: string;
  range: RangeKey;
  /** The start of the range, fixed when it was chosen (so the query does not change every render). */
  from: string;
}

/**
 * The request log: filter by project, deployment, outcome, time range or request id; newest first,
 * "Load more" for older; a row opens into its details; follow mode refreshes; CSV export of what is shown.
 */
export function LogsTab({ gateway }: { gateway: Gateway }) {
  const base = `/gateways/${encodeURIComponent(gateway.name)}`;
  return <LogsView base={base} name={gateway.name} resource={gateway.resource} projectsPath={`${base}/projects`} />;
}

interface LogsViewProps {
  /** The API path the logs are under (`…/logs`): a gateway's, or an archived gateway's. */
  base: string;
  /** The gateway's name, for the export's file name. */
  name: string;
  resource: string;
  /** Where the project filter's choices come from; null: typed by hand (an archived gateway's). */
  projectsPath: string | null;
}

/** The request log of a gateway, live or archived. */
export function LogsView({ base, name, resource, projectsPath }: LogsViewProps) {
  const { api } = useSession();
  const [filters, setFilters] = useState<Filters>({ project: '', deployment: '', outcome: '', requestId: '', range: 'all', from: '' });
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const projects = useApiData<List<GatewayProject>>(projectsPath);
  const deployments = useApiData<List<Deployment>>(`/resources/${encodeURIComponent(resource)}/deployments`);
  const params = { project: filters.project, deployment: filters.deployment, outcome: filters.outcome, requestId: filters.requestId, from: filters.from };
  const firstPage = useApiData<LogPage>(`${base}/logs${query({ ...params, limit: PAGE_SIZE })}`, follow ? FOLLOW_MS : null, { keepPrevious: true });
  // Older pages, appended by "Load more"; they belong to the first page they follow.
  const [more, setMore] = useState<{ after: LogPage; items: LogEntry[]; nextCursor: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<{ after: LogPage; message: string } | null>(null);
  const ids = { project: useId(), deployment: useId(), outcome: useId(), range: useId(), search: useId() };

  const page = firstPage.data;
  const extra = more && more.after === page ? more : null;
  const items = page ? [...page.items, ...(extra?.items ?? [])] : undefined;
  const nextCursor = extra ? extra.nextCursor : (page?.nextCursor ?? null);

  const loadMore = async () => {
    if (!page || !nextCursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const next = await api.get<LogPage>(`${base}/logs${query({ ...params, limit: PAGE_SIZE, cursor: nextCursor })}`);
      setMore({ after: page, items: [...(extra?.items ?? []), ...next.items], nextCursor: next.nextCursor });
    } catch (err) {
      setMoreError({ after: page, message: messageOf(err) });
    } finally {
      setLoadingMore(false);
    }
  };
  const setRange = (range: RangeKey) => {
    const back = RANGES.find(([key]) => key === range)?.[2] ?? 0;
    setFilters({ ...filters, range, from: back === 0 ? '' : new Date(Date.now() - back).toISOString() });
  };
  const submitSearch = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ ...filters, requestId: search.trim() });
  };
  const filtered = filters.project !== '' || filters.deployment !== '' || filters.outcome !== '' || filters.requestId !== '' || filters.range !== 'all';
  // A backend column only where pools answered; content only while the gateway's content logging is on.
  const withBackend = items?.some((e) => e.backend !== null) ?? false;
  const columns = 10 + (withBackend ? 1 : 0);

  return (
    <section aria-labelledby="logs-title">
      <div className="section-head">
        <h2 id="logs-title">Logs</h2>
        <div className="actions">
          <label className="inline-check">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
          <button type="button" onClick={firstPage.reload}>
            Refresh
          </button>
          <button type="button" disabled={!items || items.length === 0} onClick={() => items && download(`${name}-logs.csv`, logsCsv(items))}>
            Export CSV
          </button>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter logs" onSubmit={submitSearch}>
        <div className="field">
          <label htmlFor={ids.search}>Request id</label>
          <input id={ids.search} type="search" value={search} placeholder="e.g. 6f1c…" onChange={(e) => setSearch(e.target.value)} onBlur={() => setFilters({ ...filters, requestId: search.trim() })} />
        </div>
        <div className="field">
          <label htmlFor={ids.range}>Time range</label>
          <select id={ids.range} value={filters.range} onChange={(e) => setRange(e.target.value as RangeKey)}>
            {RANGES.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </div>
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
        <button type="submit" hidden>
          Search
        </button>
      </form>
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
                  <th scope="col">Operation</th>
                  <th scope="col">Stream</th>
                  {withBackend ? <th scope="col">Backend</th> : null}
                  <th scope="col">Status</th>
                  <th scope="col">Outcome</th>
                  <th scope="col" className="num">
                    Tokens
                  </th>
                  <th scope="col" className="num">
                    Latency
                  </th>
                  <th scope="col">Request id</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <Fragment key={e.id}>
                    <tr className="clickable" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                      <td className="nowrap">
                        <button type="button" className="link" aria-label={`Details of request ${e.requestId}`}>
                          {open === e.id ? '▾' : '▸'}
                        </button>{' '}
                        {formatDateTime(e.time)}
                      </td>
                      <td>{e.project}</td>
                      <td>{e.deployment ?? '—'}</td>
                      <td className="small">{e.operation}</td>
                      <td>{e.stream ? 'yes' : 'no'}</td>
                      {withBackend ? <td>{e.backend ?? '—'}</td> : null}
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
                    </tr>
                    {open === e.id ? (
                      <tr className="details-row">
                        <td colSpan={columns}>
                          <LogDetails entry={e} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span className="muted">
              {items.length} request{items.length === 1 ? '' : 's'} shown{follow ? ' · following' : ''}
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
