import { useState } from 'react';
import type { Deployment, List } from '../api-types';
import { Badge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { LoadError, Loading } from '../components/LoadError';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { DeploymentBackends } from './DeploymentBackends';
import { DeploymentDialog } from './DeploymentDialog';

/** A resource's model deployments: what clients call by name, and where the gateway forwards. */
export function DeploymentsSection({ resource }: { resource: string }) {
  const { api, can } = useSession();
  const base = `/resources/${encodeURIComponent(resource)}/deployments`;
  const deployments = useApiData<List<Deployment>>(base);
  const [editing, setEditing] = useState<Deployment | 'new' | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = deployments.data?.items;

  const addButton = can.manageResources ? (
    <button type="button" className="primary" onClick={() => setEditing('new')}>
      Add deployment
    </button>
  ) : null;

  const remove = (d: Deployment) =>
    setConfirm({
      title: `Delete deployment ${d.name}?`,
      message: (
        <p>
          Requests naming <strong>{d.name}</strong> will fail with <code>404 deployment_not_found</code>, and the limits set for it are
          deleted with it.
        </p>
      ),
      confirmLabel: 'Delete deployment',
      action: async () => {
        await api.delete(`${base}/${encodeURIComponent(d.name)}`);
        deployments.reload();
      },
    });

  return (
    <section aria-labelledby="deployments-title" className="subsection">
      <div className="section-head">
        <h2 id="deployments-title">Deployments</h2>
        {items?.length === 0 ? null : addButton}
      </div>
      <LoadError error={deployments.error} onRetry={deployments.reload} />
      {!items ? (
        deployments.error ? null : <Loading what="deployments" />
      ) : items.length === 0 ? (
        <EmptyState title="No deployments yet." action={addButton}>
          A deployment is a named model endpoint (OpenAI, Azure OpenAI, an OpenAI-compatible server, or the simulated model for trials).
          Clients use its name as the <code>model</code>.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Deployments">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Provider</th>
                <th scope="col">Upstream</th>
                <th scope="col">Upstream key</th>
                {can.manageResources ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.name}>
                  <td>{d.name}</td>
                  <td>{d.provider}</td>
                  <td className="small">
                    {d.backends ? (
                      <DeploymentBackends resource={resource} deployment={{ ...d, backends: d.backends }} />
                    ) : (
                      (d.upstreamUrl ?? <span className="muted">default</span>)
                    )}
                    {d.upstreamModel ? <div className="muted">model {d.upstreamModel}</div> : null}
                  </td>
                  <td>
                    {d.backends ? (
                      <span className="muted">per backend</span>
                    ) : d.hasUpstreamApiKey ? (
                      <Badge tone="ok">set</Badge>
                    ) : (
                      <Badge tone="off">not set</Badge>
                    )}
                  </td>
                  {can.manageResources ? (
                    <td className="actions">
                      <button type="button" aria-label={`Edit deployment ${d.name}`} onClick={() => setEditing(d)}>
                        Edit
                      </button>
                      <button type="button" className="danger-outline" aria-label={`Delete deployment ${d.name}`} onClick={() => remove(d)}>
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
      {editing ? (
        <DeploymentDialog
          resource={resource}
          deployment={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            deployments.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}
