import { useId, useState } from 'react';
import { query } from '../api';
import type { UsageOverview } from '../api-types';
import { GatewayStatusBadge } from '../components/Badge';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatNumber } from '../format';
import { Link } from '../router';
import { useApiData } from '../use-api-data';

const DAY = 86_400_000;
const RANGES = [
  { id: 'today', label: 'Today (since 00:00 UTC)', from: (now: number) => Math.floor(now / DAY) * DAY },
  { id: '7d', label: 'Last 7 days', from: (now: number) => now - 7 * DAY },
  { id: '30d', label: 'Last 30 days', from: (now: number) => now - 30 * DAY },
] as const;
type RangeId = (typeof RANGES)[number]['id'];

/** Who uses what, across every gateway: projects, tokens, requests and refusals in a range. */
export function OverviewPage() {
  const [rangeId, setRangeId] = useState<RangeId>('today');
  const [from, setFrom] = useState(() => RANGES[0].from(Date.now()));
  const selectId = useId();
  const overview = useApiData<UsageOverview>(`/usage${query({ from })}`, 15_000, { keepPrevious: true });
  const gateways = overview.data?.gateways;
  const sum = (pick: (g: NonNullable<typeof gateways>[number]) => number) => (gateways ?? []).reduce((n, g) => n + pick(g), 0);

  return (
    <section aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Overview</h1>
        <div className="toolbar">
          <label htmlFor={selectId}>Time range</label>
          <select
            id={selectId}
            value={rangeId}
            onChange={(e) => {
              const range = RANGES.find((r) => r.id === e.target.value) ?? RANGES[0];
              setRangeId(range.id);
              setFrom(range.from(Date.now()));
            }}
          >
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="lede">Every gateway's use: tokens, requests and the requests its limits refused. Times are UTC, as quota periods are.</p>
      <LoadError error={overview.error} onRetry={overview.reload} />
      {!gateways ? (
        overview.error ? null : <Loading what="usage" />
      ) : gateways.length === 0 ? (
        <EmptyState title="No AI gateways yet." action={<Link to="gateways">Go to AI Gateway</Link>}>
          Add a gateway to see its usage here.
        </EmptyState>
      ) : (
        <>
          <dl className="totals" aria-label="Totals across gateways">
            <div>
              <dt>Tokens</dt>
              <dd>{formatNumber(sum((g) => g.tokens.total))}</dd>
            </div>
            <div>
              <dt>Requests</dt>
              <dd>{formatNumber(sum((g) => g.requests.total))}</dd>
            </div>
            <div>
              <dt>Refusals</dt>
              <dd>{formatNumber(sum((g) => g.refusals))}</dd>
            </div>
          </dl>
          <div className="table-scroll">
            <table aria-label="Usage per gateway">
              <thead>
                <tr>
                  <th scope="col">Gateway</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Enabled projects
                  </th>
                  <th scope="col" className="num">
                    Tokens
                  </th>
                  <th scope="col" className="num">
                    Requests
                  </th>
                  <th scope="col" className="num">
                    429s
                  </th>
                  <th scope="col" className="num">
                    403s
                  </th>
                  <th scope="col" className="num">
                    Never fit
                  </th>
                </tr>
              </thead>
              <tbody>
                {gateways.map((g) => (
                  <tr key={g.name}>
                    <th scope="row">
                      <Link to={`gateways/${encodeURIComponent(g.name)}/usage`}>{g.name}</Link>
                    </th>
                    <td>{g.resource}</td>
                    <td>
                      <GatewayStatusBadge status={g.status} />
                    </td>
                    <td className="num">
                      {g.enabledProjects} of {g.projects}
                    </td>
                    <td className="num">{formatNumber(g.tokens.total)}</td>
                    <td className="num">{formatNumber(g.requests.total)}</td>
                    <td className="num">{formatNumber(g.requests.rate_limited)}</td>
                    <td className="num">{formatNumber(g.requests.quota_exceeded)}</td>
                    <td className="num">{formatNumber(g.requests.never_fits)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
