import { useState, type FormEvent } from 'react';
import type { Gateway, GatewayProject, List } from '../api-types';
import { ProjectStatusBadge } from '../components/Badge';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { Link } from '../router';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';
import { limitValuesText } from './limit-scope';

/** The projects of the gateway's resource and whether each may use the gateway. */
export function GatewayProjectsTab({ gateway }: { gateway: Gateway }) {
  const { api, can } = useSession();
  const base = `/gateways/${encodeURIComponent(gateway.name)}/projects`;
  const projects = useApiData<List<GatewayProject>>(base);
  const [adding, setAdding] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = projects.data?.items;
  const disabled = items?.filter((p) => p.gatewayStatus === 'disabled') ?? [];

  const disable = (project: string) =>
    setConfirm({
      title: `Disable ${project} on ${gateway.name}?`,
      message: (
        <p>
          Requests with <strong>{project}</strong>'s keys will be refused with <code>403 project_not_enabled</code> until it is added to
          the gateway again. Its keys and limits are kept.
        </p>
      ),
      confirmLabel: 'Disable project',
      action: async () => {
        await api.delete(`${base}/${encodeURIComponent(project)}`);
        projects.reload();
      },
    });

  return (
    <section aria-labelledby="gateway-projects-title">
      <div className="section-head">
        <h2 id="gateway-projects-title">Projects</h2>
        {can.manageGateways ? (
          <button type="button" className="primary" onClick={() => setAdding(true)}>
            Add project to gateway
          </button>
        ) : null}
      </div>
      <p className="lede">
        Projects created after the gateway are enabled on it; projects that existed before must be added. Projects are created under{' '}
        <Link to={`resources/${encodeURIComponent(gateway.resource)}`}>resource {gateway.resource}</Link>.
      </p>
      <LoadError error={projects.error} onRetry={projects.reload} />
      {!items ? (
        projects.error ? null : <Loading what="projects" />
      ) : items.length === 0 ? (
        <EmptyState title={`Resource ${gateway.resource} has no projects yet.`}>
          <Link to={`resources/${encodeURIComponent(gateway.resource)}`}>Create a project</Link> in the resource: it is enabled on this
          gateway at once and gets its API keys.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Gateway projects">
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Gateway status</th>
                <th scope="col">Limit on all deployments</th>
                {can.manageGateways ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.name}>
                  <td>{p.name}</td>
                  <td>
                    <ProjectStatusBadge status={p.gatewayStatus} />
                  </td>
                  <td>
                    {p.limit === null ? (
                      <span className="muted">None</span>
                    ) : (
                      `${p.limit.source === 'gateway-default' ? 'Gateway default' : 'Own limit'}: ${limitValuesText(p.limit)}`
                    )}
                  </td>
                  {can.manageGateways ? (
                    <td className="actions">
                      {p.gatewayStatus === 'enabled' ? (
                        <button type="button" aria-label={`Disable ${p.name}`} onClick={() => disable(p.name)}>
                          Disable
                        </button>
                      ) : (
                        <button
                          type="button"
                          aria-label={`Enable ${p.name}`}
                          onClick={async () => {
                            try {
                              await api.put(`${base}/${encodeURIComponent(p.name)}`);
                            } finally {
                              projects.reload();
                            }
                          }}
                        >
                          Enable
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {adding ? (
        <AddProjectDialog
          gateway={gateway}
          candidates={disabled.map((p) => p.name)}
          onClose={() => setAdding(false)}
          onAdded={() => {
            setAdding(false);
            projects.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function AddProjectDialog({ gateway, candidates, onClose, onAdded }: { gateway: Gateway; candidates: string[]; onClose(): void; onAdded(): void }) {
  const { api } = useSession();
  const [project, setProject] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const chosen = project || candidates[0] || '';
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      await api.put(`/gateways/${encodeURIComponent(gateway.name)}/projects/${encodeURIComponent(chosen)}`);
      onAdded();
    } catch (err) {
      setErrors(formErrorsOf(err, ['project'], { not_found: 'project' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Add project to gateway" onClose={onClose}>
      {candidates.length === 0 ? (
        <>
          <p className="notice">
            Every project of resource {gateway.resource} is already enabled on {gateway.name}. New projects created in the resource are
            enabled automatically.
          </p>
          <div className="form-actions">
            <button type="button" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label="Project" error={errors.fields.project} hint={`Disabled projects of resource ${gateway.resource}.`}>
            {(control) => (
              <select {...control} value={chosen} onChange={(e) => setProject(e.target.value)}>
                {candidates.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <FormError message={errors.form} />
          <div className="form-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={pending}>
              {pending ? 'Adding…' : 'Add'}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
