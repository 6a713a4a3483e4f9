import { useState } from 'react';
import type { Deployment, Gateway, GatewayProject, Limit, List } from '../api-types';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { formatNumber } from '../format';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { LimitDialog } from './LimitDialog';
import { scopeOf } from './limit-scope';
import { DefaultLimitStandings } from './DefaultLimitStandings';
import { StandingCell } from './LimitStanding';

/** Token management: the gateway's limits, their live standing, and adding, editing, deleting them. */
export function LimitsTab({ gateway }: { gateway: Gateway }) {
  const { api, can } = useSession();
  const base = `/gateways/${encodeURIComponent(gateway.name)}`;
  const limits = useApiData<List<Limit>>(`${base}/limits`);
  const projects = useApiData<List<GatewayProject>>(`${base}/projects`);
  const deployments = useApiData<List<Deployment>>(`/resources/${encodeURIComponent(gateway.resource)}/deployments`);
  const [editing, setEditing] = useState<Limit | 'new' | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = limits.data?.items;

  const addButton = can.manageGateways ? (
    <button type="button" className="primary" onClick={() => setEditing('new')}>
      + Add limit
    </button>
  ) : null;

  const remove = (limit: Limit) =>
    setConfirm({
      title: 'Delete this limit?',
      message: (
        <p>
          The limit for <strong>{scopeOf(limit)}</strong> will be deleted: from the next request, {limit.project} is no longer held to it.
        </p>
      ),
      confirmLabel: 'Delete limit',
      action: async () => {
        await api.delete(`${base}/limits/${encodeURIComponent(limit.id)}`);
        limits.reload();
        projects.reload(); // a project whose own limit went may now run under the default
      },
    });

  return (
    <section aria-labelledby="limits-title">
      <div className="section-head">
        <h2 id="limits-title">Token management</h2>
        {items?.length === 0 ? null : addButton}
      </div>
      <p className="lede">
        Each limit caps one project on one deployment, or on all deployments together: tokens per minute (over any rolling 60 s, refused
        with 429) and a token quota per period (refused with 403). Changes apply to the next request.
      </p>
      <LoadError error={limits.error} onRetry={limits.reload} />
      {!items ? (
        limits.error ? null : <Loading what="limits" />
      ) : items.length === 0 ? (
        <EmptyState
          title={
            gateway.defaultProjectLimit
              ? 'No token limits of projects’ own yet: every enabled project runs under the gateway default.'
              : 'No token limits yet: every enabled project may use the deployments without a cap.'
          }
          action={addButton}
        >
          {can.manageGateways ? 'Add a limit to cap a project’s tokens per minute or its quota per period.' : null}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Token limits">
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Deployment</th>
                <th scope="col">Tokens per minute</th>
                <th scope="col">Token quota</th>
                <th scope="col">Budget</th>
                <th scope="col" className="standing-col">
                  Standing
                </th>
                {can.manageGateways ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((limit) => (
                <tr key={limit.id}>
                  <td>{limit.project}</td>
                  <td>{limit.deployment ?? <em>All deployments</em>}</td>
                  <td className="num">{limit.tokensPerMinute === null ? '—' : formatNumber(limit.tokensPerMinute)}</td>
                  <td className="num">
                    {limit.tokenQuota === null ? '—' : `${formatNumber(limit.tokenQuota)} ${limit.quotaPeriod ?? ''}`}
                  </td>
                  <td className="num">{limit.budget ? `${limit.budget.amount} ${limit.budget.currency} ${limit.budget.period}` : '—'}</td>
                  <td>
                    <StandingCell key={limit.updatedAt} gateway={gateway.name} id={limit.id} scope={scopeOf(limit)} />
                  </td>
                  {can.manageGateways ? (
                    <td className="actions">
                      <button type="button" aria-label={`Edit limit for ${scopeOf(limit)}`} onClick={() => setEditing(limit)}>
                        Edit
                      </button>
                      <button type="button" className="danger-outline" aria-label={`Delete limit for ${scopeOf(limit)}`} onClick={() => remove(limit)}>
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
      <DefaultLimitStandings gateway={gateway} projects={projects.data?.items} />
      {editing ? (
        <LimitDialog
          gateway={gateway.name}
          limit={editing === 'new' ? null : editing}
          projects={projects.data?.items ?? []}
          deployments={deployments.data?.items ?? []}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            limits.reload();
            projects.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}
