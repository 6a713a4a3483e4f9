import { useState, type FormEvent } from 'react';
import type { Instance, List } from '../api-types';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { useNotify } from '../components/Toast';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { formatDateTime } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

/** Instances: pools of gateway nodes, each backing at most one gateway; one backing none can be deleted. */
export function InstancesPage() {
  const { api, can } = useSession();
  const notify = useNotify();
  const instances = useApiData<List<Instance>>('/instances');
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = instances.data?.items;

  const createButton = can.manageGateways ? (
    <button type="button" className="primary" onClick={() => setCreating(true)}>
      Create instance
    </button>
  ) : null;

  const askDelete = (instance: Instance) =>
    setConfirm({
      title: `Delete instance ${instance.name}?`,
      message: (
        <p>
          <strong>{instance.name}</strong> backs no gateway. Nodes started with <code>--instance {instance.name}</code> will serve nothing
          until it is created again.
        </p>
      ),
      confirmLabel: 'Delete instance',
      action: async () => {
        await api.delete(`/instances/${encodeURIComponent(instance.name)}`);
        notify(`Instance ${instance.name} deleted.`);
        instances.reload();
      },
    });

  return (
    <section aria-labelledby="instances-title">
      <div className="page-head">
        <h1 id="instances-title">Instances</h1>
        {items?.length === 0 ? null : createButton}
      </div>
      <p className="lede">
        An instance is a pool of gateway nodes (<code>tollgate serve --instance NAME</code>). Each backs at most one gateway; one that backs
        none is free for a new gateway, or can be deleted.
      </p>
      <LoadError error={instances.error} onRetry={instances.reload} />
      {!items ? (
        instances.error ? null : <Loading what="instances" />
      ) : items.length === 0 ? (
        <EmptyState title="No instances yet." action={createButton}>
          Adding a gateway creates one, or create one here to start its nodes first.
        </EmptyState>
      ) : (
        <div className="table-scroll">
          <table aria-label="Instances">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Gateway</th>
                <th scope="col">Created</th>
                {can.manageGateways ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((i) => (
                <tr key={i.name}>
                  <td>{i.name}</td>
                  <td>{i.gateway ? <Link to={`gateways/${encodeURIComponent(i.gateway)}`}>{i.gateway}</Link> : <span className="muted">none (free)</span>}</td>
                  <td className="nowrap">{formatDateTime(i.createdAt)}</td>
                  {can.manageGateways ? (
                    <td className="actions">
                      {i.gateway ? (
                        <span className="muted small">Delete gateway {i.gateway} first</span>
                      ) : (
                        <button type="button" className="danger-outline" onClick={() => askDelete(i)} aria-label={`Delete instance ${i.name}`}>
                          Delete
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
      {creating ? (
        <CreateInstanceDialog
          onClose={() => setCreating(false)}
          onCreated={(created) => {
            setCreating(false);
            notify(`Instance ${created.name} created.`);
            instances.reload();
          }}
        />
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function CreateInstanceDialog({ onClose, onCreated }: { onClose(): void; onCreated(instance: Instance): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      onCreated(await api.post<Instance>('/instances', { name: name.trim() }));
    } catch (err) {
      setErrors(formErrorsOf(err, ['name'], { already_exists: 'name' }));
      setPending(false);
    }
  };
  return (
    <Modal title="Create instance" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={errors.fields.name} hint="Lowercase letters, digits and hyphens. Nodes join it with --instance NAME.">
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Creating…' : 'Create instance'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
