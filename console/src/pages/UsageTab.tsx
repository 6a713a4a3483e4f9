import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { query } from '../api';
import type { Gateway, GatewayProject, List, UsageInterval, UsageReport } from '../api-types';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatNumber } from '../format';
import { requestsByOutcome, tokensByGroup, type GroupedRows } from '../usage-series';
import { useApiData } from '../use-api-data';
import { ProjectUsageTable } from './ProjectUsageTable';

export const RANGES = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000, interval: 'minute' },
  { id: '1h', label: 'Last hour', ms: 3_600_000, interval: 'minute' },
  { id: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000, interval: 'minute' },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000, interval: 'hour' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * 3_600_000, interval: 'hour' },
] as const satisfies ReadonlyArray<{ id: string; label: string; ms: number; interval: UsageInterval }>;
type RangeId = (typeof RANGES)[number]['id'];

/** The window slides forward on its own: usage is rolled up as requests are logged. */
const AUTO_REFRESH_MS = 15_000;
const PALETTE = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#db2777', '#65a30d', '#7c3aed'];

/** Usage charts: tokens over time per project and per deployment, and requests by outcome. */
export function UsageTab({ gateway }: { gateway: Gateway }) {
  const [rangeId, setRangeId] = useState<RangeId>('1h');
  const [to, setTo] = useState(() => Date.now());
  const rangeSelectId = useId();
  useEffect(() => {
    const timer = window.setInterval(() => setTo(Date.now()), AUTO_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[1];
  const base = `/gateways/${encodeURIComponent(gateway.name)}/usage`;
  const params = { from: to - range.ms, to, interval: range.interval };
  const byProject = useApiData<UsageReport>(`${base}${query({ ...params, groupBy: 'project' })}`, null, { keepPrevious: true });
  const byDeployment = useApiData<UsageReport>(`${base}${query({ ...params, groupBy: 'deployment' })}`, null, { keepPrevious: true });
  const projects = useApiData<List<GatewayProject>>(`/gateways/${encodeURIComponent(gateway.name)}/projects`);

  const projectRows = useMemo(() => byProject.data && tokensByGroup(byProject.data), [byProject.data]);
  const deploymentRows = useMemo(() => byDeployment.data && tokensByGroup(byDeployment.data), [byDeployment.data]);
  const outcomeRows = useMemo(() => byProject.data && requestsByOutcome(byProject.data), [byProject.data]);
  const report = byProject.data;
  const totals = report?.totals;
  const formatTick = tickFormat(report?.interval ?? range.interval, range.ms);

  return (
    <section aria-labelledby="usage-title">
      <div className="section-head">
        <h2 id="usage-title">Usage</h2>
        <div className="toolbar">
          <label htmlFor={rangeSelectId}>Time range</label>
          <select
            id={rangeSelectId}
            value={rangeId}
            onChange={(e) => {
              setRangeId(e.target.value as RangeId);
              setTo(Date.now());
            }}
          >
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => setTo(Date.now())}>
            Refresh
          </button>
        </div>
      </div>
      <LoadError error={byProject.error ?? byDeployment.error} onRetry={() => setTo(Date.now())} />
      {!report || !totals || !projectRows || !deploymentRows || !outcomeRows ? (
        byProject.error ? null : <Loading what="usage" />
      ) : (
        <>
          <dl className="totals" aria-label="Totals">
            {Object.entries(totals.cost)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([currency, money]) => (
                <div key={currency} className="cost-card">
                  <dt>Cost ({currency})</dt>
                  <dd title={`${money.micros} micro-units`}>{money.amount}</dd>
                </div>
              ))}
            <Total label="Total tokens" value={totals.tokens.total} />
            <Total label="Prompt tokens" value={totals.tokens.prompt} />
            <Total label="Completion tokens" value={totals.tokens.completion} />
            <Total label="Requests" value={totals.requests.total} />
            <Total label="Rate limited (429)" value={totals.requests.rate_limited} />
            <Total label="Quota exceeded (403)" value={totals.requests.quota_exceeded} />
            <Total label="Never fit" value={totals.requests.never_fits} />
            <Total
              label="Errors"
              value={totals.requests.rejected + totals.requests.upstream_error + totals.requests.client_aborted}
            />
          </dl>
          <h3>Per project</h3>
          <ProjectUsageTable report={report} projects={projects.data?.items ?? []} />
          {totals.requests.total === 0 ? (
            <EmptyState title={`No requests in the ${range.label.toLowerCase()}.`}>
              Send a request with a project key to <code>{window.location.origin}/openai/v1/chat/completions</code> (model: a deployment
              name of resource {gateway.resource}); it shows here within seconds. Or pick a longer time range.
            </EmptyState>
          ) : (
            <>
            <div className="charts">
              <Chart title="Tokens per project">
                <TokensChart data={projectRows} formatTick={formatTick} />
              </Chart>
              <Chart title="Tokens per deployment">
                <TokensChart data={deploymentRows} formatTick={formatTick} />
              </Chart>
              <Chart title="Requests by outcome">
                <BarChart data={outcomeRows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="t" tickFormatter={formatTick} minTickGap={24} />
                  <YAxis allowDecimals={false} width={48} />
                  <Tooltip labelFormatter={(t) => formatTooltipTime(Number(t))} />
                  <Legend itemSorter={null} />
                  <Bar dataKey="ok" name="OK" stackId="r" fill="#16a34a" isAnimationActive={false} />
                  <Bar dataKey="rateLimited" name="Rate limited (429)" stackId="r" fill="#f59e0b" isAnimationActive={false} />
                  <Bar dataKey="quotaExceeded" name="Quota exceeded (403)" stackId="r" fill="#ea580c" isAnimationActive={false} />
                  <Bar dataKey="neverFits" name="Never fit" stackId="r" fill="#7c3aed" isAnimationActive={false} />
                  <Bar dataKey="errors" name="Errors" stackId="r" fill="#dc2626" isAnimationActive={false} />
                </BarChart>
              </Chart>
            </div>
            </>
          )}
        </>
      )}
    </section>
  );
}

function Total({ label, value }: { label: string; value: number }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{formatNumber(value)}</dd>
    </div>
  );
}

function Chart({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        {children}
      </ResponsiveContainer>
    </figure>
  );
}

function TokensChart({ data, formatTick }: { data: GroupedRows; formatTick: (t: number) => string }) {
  return (
    <AreaChart data={data.rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="t" tickFormatter={formatTick} minTickGap={24} />
      <YAxis allowDecimals={false} width={56} tickFormatter={(n: number) => formatNumber(n)} />
      <Tooltip labelFormatter={(t) => formatTooltipTime(Number(t))} formatter={(v) => formatNumber(Number(v))} />
      <Legend itemSorter={null} />
      {data.groups.map((group, i) => {
        const color = PALETTE[i % PALETTE.length];
        return (
          <Area
            key={`${i}:${group}`}
            type="monotone"
            dataKey={`s${i}`}
            name={group}
            stackId="tokens"
            stroke={color}
            fill={color}
            fillOpacity={0.25}
            isAnimationActive={false}
          />
        );
      })}
    </AreaChart>
  );
}

function tickFormat(interval: UsageInterval, rangeMs: number): (t: number) => string {
  if (interval === 'minute' || rangeMs <= 24 * 3_600_000) {
    return (t) => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }
  return (t) => new Date(t).toLocaleString(undefined, { weekday: 'short', hour: '2-digit' });
}

const formatTooltipTime = (t: number) => new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' });
