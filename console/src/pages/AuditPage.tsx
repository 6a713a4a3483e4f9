import { useState } from 'react';
import { query } from '../api';
import type { AuditEntry, Page } from '../api-types';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatDateTime, viewerTimeZone } from '../format';
import { useApiData } from '../use-api-data';

const PAGE_SIZE = 50;

/** The audit log: who changed what, when, and each change's old → new values. */
export function AuditPage() {
  // The cursors of the pages before this one: "Newer" goes back one.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const audit = useApiData<Page<AuditEntry>>(`/audit${query({ limit: PAGE_SIZE, cursor })}`, null, { keepPrevious: true });
  const items = audit.data?.items;
  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit log</h1>
        <button type="button" onClick={audit.reload}>
          Refresh
        </button>
      </div>
      <p className="lede">
        Every change made through the console, the API, the CLI or a config file, newest first, with the values it replaced. Times in{' '}
        {viewerTimeZone()}.
      </p>
      <LoadError error={audit.error} onRetry={audit.reload} />
      {!items ? (
        audit.error ? null : <Loading what="the audit log" />
      ) : items.length === 0 ? (
        <EmptyState title="No changes yet.">Changes appear here as soon as they are made.</EmptyState>
      ) : (
        <>
          <div className="table-scroll">
            <table aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap">{formatDateTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <td className="mono">{e.action}</td>
                    <td className="mono">{e.target}</td>
                    <td>
                      <ChangeValues detail={e.detail} previous={e.previous} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((list) => list.slice(0, -1))}>
              Newer
            </button>
            <button type="button" disabled={!audit.data?.nextCursor} onClick={() => audit.data?.nextCursor && setCursors((list) => [...list, audit.data!.nextCursor!])}>
              Older
            </button>
          </div>
        </>
      )}
    </section>
  );
}

const shown = (value: unknown): string => (value === null || value === undefined ? 'none' : typeof value === 'string' ? value : JSON.stringify(value));

/** Each field the change touched: `tokensPerMinute: 5000 → 6000`, or the value set, or the value removed. */
function ChangeValues({ detail, previous }: { detail: Record<string, unknown> | null; previous: Record<string, unknown> | null }) {
  const keys = [...new Set([...Object.keys(previous ?? {}), ...Object.keys(detail ?? {})])];
  if (keys.length === 0) return <span className="muted">-</span>;
  return (
    <ul className="change-list">
      {keys.map((key) => {
        const hasOld = previous !== null && key in previous;
        const hasNew = detail !== null && key in detail;
        return (
          <li key={key}>
            <span className="mono">{key}</span>: {hasOld && !hasNew ? <span className="muted">was </span> : null}
            {hasOld ? <span className={hasNew ? 'change-old' : undefined}>{shown(previous[key])}</span> : null}
            {hasOld && hasNew ? ' → ' : null}
            {hasNew ? <span className={hasOld ? 'change-new' : undefined}>{shown(detail[key])}</span> : null}
          </li>
        );
      })}
    </ul>
  );
}
