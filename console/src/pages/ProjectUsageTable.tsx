import type { GatewayProject, RequestCounts, UsageReport } from '../api-types';
import { formatNumber } from '../format';
import { costText } from '../usage-series';
import { limitValuesText } from './limit-scope';

interface ProjectUsage {
  name: string;
  /** null: not a project of the resource any more (deleted), or a refusal before one was known. */
  project: GatewayProject | null;
  requests: RequestCounts;
  tokens: number;
  /** Micro-units by currency (a deployment without prices adds none). */
  costMicros: Record<string, number>;
}

/**
 * Who uses what: every project of the gateway's resource with its requests, tokens and cost in the range,
 * those without a limit (or without traffic) included, busiest first.
 */
export function ProjectUsageTable({ report, projects }: { report: UsageReport; projects: readonly GatewayProject[] }) {
  const rows = new Map<string, ProjectUsage>();
  for (const p of projects) rows.set(p.name, { name: p.name, project: p, requests: zero(), tokens: 0, costMicros: {} });
  for (const series of report.series) {
    const name = series.project ?? series.group ?? '';
    if (name === '') continue;
    let row = rows.get(name);
    if (!row) rows.set(name, (row = { name, project: null, requests: zero(), tokens: 0, costMicros: {} }));
    for (const point of series.points) {
      for (const key of Object.keys(row.requests) as (keyof RequestCounts)[]) row.requests[key] += point.requests[key];
      row.tokens += point.tokens.total;
      for (const [currency, money] of Object.entries(point.cost ?? {})) row.costMicros[currency] = (row.costMicros[currency] ?? 0) + money.micros;
    }
  }
  const sorted = [...rows.values()].sort((a, b) => b.tokens - a.tokens || b.requests.total - a.requests.total || a.name.localeCompare(b.name));
  return (
    <div className="table-scroll">
      <table aria-label="Usage per project">
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col">Limit</th>
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
            <th scope="col" className="num">
              Cost
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr key={r.name}>
              <th scope="row">
                {r.name}
                {r.project && r.project.gatewayStatus !== 'enabled' ? <span className="muted small"> (not enabled)</span> : null}
                {r.project ? null : <span className="muted small"> (no longer in the resource)</span>}
              </th>
              <td className="small">{r.project?.limit ? `${r.project.limit.source === 'gateway-default' ? 'default: ' : ''}${limitValuesText(r.project.limit)}` : 'none'}</td>
              <td className="num">{formatNumber(r.tokens)}</td>
              <td className="num">{formatNumber(r.requests.total)}</td>
              <td className="num">{formatNumber(r.requests.rate_limited)}</td>
              <td className="num">{formatNumber(r.requests.quota_exceeded)}</td>
              <td className="num">{formatNumber(r.requests.never_fits)}</td>
              <td className="num">{costText(r.costMicros)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const zero = (): RequestCounts => ({ total: 0, ok: 0, rate_limited: 0, quota_exceeded: 0, rejected: 0, upstream_error: 0, client_aborted: 0, never_fits: 0 });
