import { useState } from 'react';
import { messageOf, query } from '../api';
import type { Gateway, GatewayProject, List, McpGrant, McpLimit, McpLimitStatus, McpLogPage, McpServer } from '../api-types';
import { Badge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatIn, formatTime } from '../format';
import { CallLimitDialog, GrantDialog } from './McpDialogs';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { Meter } from './LimitStanding';
import { McpStatusBadge } from './McpServersSection';

const STANDING_REFRESH_MS = 3000;
const CALLS_REFRESH_MS = 5000;

/** A gateway's MCP tools: grants with their allow-lists, call limits with their live standing, recent calls. */
export function ToolsTab({ gateway }: { gateway: Gateway }) {
  const g = encodeURIComponent(gateway.name);
  const { api, can } = useSession();
  const grants = useApiData<List<McpGrant>>(`/gateways/${g}/mcp-servers`);
  const limits = useApiData<List<McpLimit>>(`/gateways/${g}/mcp-limits`);
  const servers = useApiData<List<McpServer>>(`/resources/${encodeURIComponent(gateway.resource)}/mcp-servers`);
  const projects = useApiData<List<GatewayProject>>(`/gateways/${g}/projects`);
  const calls = useApiData<McpLogPage>(`/gateways/${g}/logs${query({ kind: 'mcp', limit: 20 })}`, CALLS_REFRESH_MS);
  const [dialog, setDialog] = useState<'grant' | 'limit' | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const manage = can.manageGateways;

  const revoke = (grant: McpGrant) =>
    setConfirm({
      title: `Revoke ${grant.project}'s access to ${grant.server}?`,
      message: <p>Its clients are refused (403 mcp_access_denied) from the next request, on every node.</p>,
      confirmLabel: 'Revoke access',
      action: async () => {
        await api.delete(`/gateways/${g}/mcp-servers/${encodeURIComponent(grant.server)}/projects/${encodeURIComponent(grant.project)}`);
        grants.reload();
      },
    });
  const removeLimit = (limit: McpLimit) =>
    setConfirm({
      title: 'Delete this call limit?',
      message: <p>{`${limit.project} on ${limit.server}${limit.tool ? ` / ${limit.tool}` : ''} is no longer limited by it.`}</p>,
      confirmLabel: 'Delete call limit',
      action: async () => {
        await api.delete(`/gateways/${g}/mcp-limits/${encodeURIComponent(limit.id)}`);
        limits.reload();
      },
    });

  const noServers = servers.data?.items.length === 0;
  return (
    <div>
      <h2>Tools</h2>
      <p className="lede">
        Projects reach the MCP servers of resource {gateway.resource} at <code>{window.location.origin}/mcp/&lt;server&gt;</code> with their key, once
        granted. Only the allowed tools are listed and callable.
      </p>

      <section aria-labelledby="mcp-grants-title" className="subsection">
        <div className="section-head">
          <h3 id="mcp-grants-title">Access</h3>
          {manage && !noServers ? (
            <button type="button" className="primary" onClick={() => setDialog('grant')}>
              Grant access
            </button>
          ) : null}
        </div>
        <LoadError error={grants.error} onRetry={grants.reload} />
        {!grants.data ? (
          grants.error ? null : <Loading what="grants" />
        ) : grants.data.items.length === 0 ? (
          <EmptyState title="No project may use an MCP server yet.">
            {noServers ? `Register an MCP server on resource ${gateway.resource} first.` : 'Grant a server to a project, with all its tools or some.'}
          </EmptyState>
        ) : (
          <div className="table-scroll">
            <table aria-label="MCP grants">
              <thead>
                <tr>
                  <th scope="col">Server</th>
                  <th scope="col">Project</th>
                  <th scope="col">Allowed tools</th>
                  <th scope="col">Server status</th>
                  {manage ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {grants.data.items.map((grant) => (
                  <tr key={`${grant.server}/${grant.project}`}>
                    <td>{grant.server}</td>
                    <td>{grant.project}</td>
                    <td className="mono small">{grant.tools === null ? <Badge tone="ok">All tools</Badge> : grant.tools.length === 0 ? 'none' : grant.tools.join(', ')}</td>
                    <td>
                      <McpStatusBadge status={grant.serverStatus} />
                    </td>
                    {manage ? (
                      <td className="actions">
                        <button type="button" className="danger-outline" aria-label={`Revoke ${grant.project} on ${grant.server}`} onClick={() => revoke(grant)}>
                          Revoke
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="mcp-limits-title" className="subsection">
        <div className="section-head">
          <h3 id="mcp-limits-title">Call limits</h3>
          {manage && !noServers ? (
            <button type="button" className="primary" onClick={() => setDialog('limit')}>
              Add call limit
            </button>
          ) : null}
        </div>
        <LoadError error={limits.error} onRetry={limits.reload} />
        {!limits.data ? (
          limits.error ? null : <Loading what="call limits" />
        ) : limits.data.items.length === 0 ? (
          <EmptyState title="No call limits.">Limit a project's calls per minute, or its calls per period, to one tool or every tool of a server.</EmptyState>
        ) : (
          <div className="table-scroll">
            <table aria-label="MCP call limits">
              <thead>
                <tr>
                  <th scope="col">Project</th>
                  <th scope="col">Server</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Limit</th>
                  <th scope="col">Standing</th>
                  {manage ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {limits.data.items.map((l) => (
                  <tr key={l.id}>
                    <td>{l.project}</td>
                    <td>{l.server}</td>
                    <td>{l.tool ?? 'all tools'}</td>
                    <td className="small">
                      {[l.callsPerMinute !== null ? `${l.callsPerMinute} calls/min` : null, l.callQuota !== null ? `${l.callQuota} calls ${l.quotaPeriod}` : null]
                        .filter(Boolean)
                        .join(', ')}
                    </td>
                    <td>
                      <CallStanding gateway={g} limit={l} />
                    </td>
                    {manage ? (
                      <td className="actions">
                        <button type="button" className="danger-outline" aria-label={`Delete call limit ${l.id}`} onClick={() => removeLimit(l)}>
                          Delete
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="mcp-calls-title" className="subsection">
        <div className="section-head">
          <h3 id="mcp-calls-title">Recent calls</h3>
        </div>
        <LoadError error={calls.error} onRetry={calls.reload} />
        {!calls.data ? (
          calls.error ? null : <Loading what="calls" />
        ) : calls.data.items.length === 0 ? (
          <EmptyState title="No MCP calls yet.">Calls through /mcp/&lt;server&gt; show here within seconds.</EmptyState>
        ) : (
          <div className="table-scroll">
            <table aria-label="Recent MCP calls">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Project</th>
                  <th scope="col">Server</th>
                  <th scope="col">Method</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Status</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Latency</th>
                </tr>
              </thead>
              <tbody>
                {calls.data.items.map((c) => (
                  <tr key={c.id}>
                    <td className="nowrap">{formatTime(c.time)}</td>
                    <td>{c.project}</td>
                    <td>{c.server}</td>
                    <td className="mono small">{c.method}</td>
                    <td className="mono small">{c.tool ?? '–'}</td>
                    <td>{c.status}</td>
                    <td>
                      <Badge tone={c.outcome === 'ok' ? 'ok' : c.outcome === 'rate_limited' || c.outcome === 'quota_exceeded' ? 'warn' : 'error'}>
                        {c.errorCode ?? c.outcome}
                      </Badge>
                    </td>
                    <td className="nowrap">{Math.round(c.latencyMs)} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {dialog === 'grant' ? (
        <GrantDialog
          gateway={g}
          servers={servers.data?.items ?? []}
          projects={projects.data?.items ?? []}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            grants.reload();
          }}
        />
      ) : null}
      {dialog === 'limit' ? (
        <CallLimitDialog
          gateway={g}
          servers={servers.data?.items ?? []}
          projects={projects.data?.items ?? []}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            limits.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </div>
  );
}

/** A call limit's live standing (every node's calls), as meters. */
function CallStanding({ gateway, limit }: { gateway: string; limit: McpLimit }) {
  const status = useApiData<McpLimitStatus>(`/gateways/${gateway}/mcp-limits/${encodeURIComponent(limit.id)}/status`, STANDING_REFRESH_MS);
  const s = status.data;
  if (!s) return status.error ? <span className="muted">{messageOf(status.error)}</span> : <span className="muted">…</span>;
  const scope = `${limit.project} on ${limit.server}${limit.tool ? ` / ${limit.tool}` : ''}`;
  return (
    <div className="standing">
      {s.perMinute ? (
        <Meter
          label="Per minute"
          ariaLabel={`Calls per minute used, ${scope}`}
          used={s.perMinute.used}
          limit={s.perMinute.limit}
          remaining={s.perMinute.remaining}
          reset={s.perMinute.used > 0 ? `window empties ${formatIn(s.perMinute.resetAt)}` : 'window empty'}
        />
      ) : null}
      {s.quota ? (
        <Meter
          label={`Quota (${s.quota.period})`}
          ariaLabel={`Call quota used, ${scope}`}
          used={s.quota.used}
          limit={s.quota.limit}
          remaining={s.quota.remaining}
          reset={`resets ${formatIn(s.quota.resetAt)}`}
        />
      ) : null}
    </div>
  );
}
