import { useState, type FormEvent } from 'react';
import type { List, Resource } from '../api-types';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { formatDateTime } from '../format';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

/** Resources: groups of model deployments and the projects that use them. */
export function ResourcesPage() {
  const { api, can } = useSession();
  const resources = useApiData<List<Resource>>('/resources');
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = resources.data?.items;

  const createButton = can.manageResources ? (
    <button type="button" className="primary" onClick={() => setCreating(true)}>
      Create resource
    </button>
  ) : null;

  const remove = (resource: Resource) =>
    setConfirm({
      title: `Delete resource ${resource.name}?`,
      message: (
        <p>
          Its deployments and projects are deleted with it, and the projects' API keys stop working at once. A resource that still has a
          gateway cannot be deleted: delete the gateway first.
        </p>
      ),
      confirmLabel: 'Delete resource',
      action: async () => {
        await api.delete(`/resources/${encodeURIComponent(resource.name)}`);
        resources.reload();
      },
    });

  return (
    <section aria-labelledby="resources-title">
      <div className="page-head">
        <h1 id="resources-title">Resources</h1>
        {items?.length === 0 ? null : createButton}
      </div>
      <p className="lede">A resource groups model deployments and the projects (teams, applications) that call them with their API keys.</p>
      <LoadError error={resources.error} onRetry={resources.reload} />
      {!items ? (
        resources.error ? null : <Loading what="resources" />
      ) : items.length === 0 ? (
        <EmptyState title="No resources yet." action={createButton}>
          {can.manageResources ? 'Create one, then add its model deployments and projects.' : 'An owner can create one.'}
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Resources">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                {can.manageResources ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.name}>
                  <td>
                    <Link to={`resources/${encodeURIComponent(r.name)}`}>{r.name}</Link>
                  </td>
                  <td>{r.description ?? <span className="muted">—</span>}</td>
                  <td className="nowrap">{formatDateTime(r.createdAt)}</td>
                  {can.manageResources ? (
                    <td className="actions">
                      <button type="button" className="danger-outline" aria-label={`Delete resource ${r.name}`} onClick={() => remove(r)}>
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
      {creating ? (
        <CreateResourceDialog
          onClose={() => setCreating(false)}
          onCreated={(resource) => {
            setCreating(false);
            navigate(`resources/${encodeURIComponent(resource.name)}`);
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function CreateResourceDialog({ onClose, onCreated }: { onClose(): void; onCreated(resource: Resource): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      onCreated(await api.post<Resource>('/resources', { name: name.trim(), description: description.trim() || null }));
    } catch (err) {
      setErrors(formErrorsOf(err, ['name', 'description'], { already_exists: 'name' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Create resource" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={errors.fields.name} hint="Lowercase letters, digits and “-”, up to 63 characters.">
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" placeholder="team-ai" />}
        </Field>
        <Field label="Description" error={errors.fields.description}>
          {(control) => <input {...control} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
