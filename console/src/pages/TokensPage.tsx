import { useState, type FormEvent } from 'react';
import { ROLES, type AdminToken, type CreatedAdminToken, type List, type Resource, type Role } from '../api-types';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog';
import { EmptyState } from '../components/EmptyState';
import { Field, FormError } from '../components/Field';
import { LoadError, Loading } from '../components/LoadError';
import { Modal } from '../components/Modal';
import { SecretValue } from '../components/SecretValue';
import { useNotify } from '../components/Toast';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { formatDateTime } from '../format';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

const ROLE_HINTS: Record<Role, string> = {
  owner: 'Everything, admin tokens included.',
  'gateway-admin': 'Instances, gateways, their projects and limits; reads the rest.',
  'project-admin': 'Projects and keys of the resources chosen below (or all); reads the rest.',
  viewer: 'Reads configuration, usage and logs; changes nothing.',
};

/** Admin tokens: who may use the console, API and CLI, with which role. Owners only. */
export function TokensPage() {
  const { api, who } = useSession();
  const notify = useNotify();
  const isOwner = who.role === 'owner';
  const tokens = useApiData<List<AdminToken>>(isOwner ? '/tokens' : null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedAdminToken | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const items = tokens.data?.items;

  if (!isOwner) {
    return (
      <section aria-labelledby="tokens-title">
        <h1 id="tokens-title">Admin tokens</h1>
        <EmptyState title="Only an owner manages admin tokens.">Your token has the {who.role} role.</EmptyState>
      </section>
    );
  }

  const askRevoke = (token: AdminToken) =>
    setConfirm({
      title: `Revoke admin token ${token.name}?`,
      message: (
        <p>
          Whoever uses <strong>{token.name}</strong> ({token.role}, beginning {token.hint}…) is signed out at their next call. This cannot be
          undone: create a new token instead.
        </p>
      ),
      confirmLabel: 'Revoke token',
      action: async () => {
        await api.delete(`/tokens/${encodeURIComponent(token.id)}`);
        notify(`Admin token ${token.name} revoked.`);
        tokens.reload();
      },
    });

  return (
    <section aria-labelledby="tokens-title">
      <div className="page-head">
        <h1 id="tokens-title">Admin tokens</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create admin token
        </button>
      </div>
      <p className="lede">
        Each admin token has a role. The secret is shown once, when it is created; the gateway keeps only its hash. Revoke a token that
        leaked or is no longer used.
      </p>
      <LoadError error={tokens.error} onRetry={tokens.reload} />
      {!items ? (
        tokens.error ? null : <Loading what="admin tokens" />
      ) : (
        <div className="table-scroll">
          <table aria-label="Admin tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Resources</th>
                <th scope="col">Begins with</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td>{t.role !== 'project-admin' ? <span className="muted">-</span> : t.resources === null ? 'all' : t.resources.join(', ')}</td>
                  <td className="mono">{t.hint}</td>
                  <td className="nowrap">{formatDateTime(t.createdAt)}</td>
                  <td className="actions">
                    {t.name === who.name ? (
                      <span className="muted small">Signed in with it</span>
                    ) : (
                      <button type="button" className="danger-outline" onClick={() => askRevoke(t)} aria-label={`Revoke admin token ${t.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating ? (
        <CreateTokenDialog
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
            tokens.reload();
          }}
        />
      ) : null}
      {created ? (
        <Modal title={`Admin token ${created.name} created`} onClose={() => setCreated(null)}>
          <p className="notice">Copy it now: it is shown only this once.</p>
          <SecretValue label="Admin token" value={created.token} />
          <div className="form-actions">
            <button type="button" className="primary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </Modal>
      ) : null}
      {confirm ? <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} /> : null}
    </section>
  );
}

function CreateTokenDialog({ onClose, onCreated }: { onClose(): void; onCreated(token: CreatedAdminToken): void }) {
  const { api } = useSession();
  const resources = useApiData<List<Resource>>('/resources');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [allResources, setAllResources] = useState(true);
  const [chosen, setChosen] = useState<string[]>([]);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (role === 'project-admin' && !allResources && chosen.length === 0) {
      return setErrors({ fields: { resources: 'Choose at least one resource, or allow all.' }, form: null });
    }
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      const resourcesField = role === 'project-admin' && !allResources ? chosen : null;
      onCreated(await api.post<CreatedAdminToken>('/tokens', { name: name.trim(), role, resources: resourcesField }));
    } catch (err) {
      setErrors(formErrorsOf(err, ['name', 'role', 'resources']));
      setPending(false);
    }
  };

  return (
    <Modal title="Create admin token" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={errors.fields.name} hint="Who or what uses it: a person, a CI job. Shown in the audit log.">
          {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoFocus />}
        </Field>
        <Field label="Role" error={errors.fields.role} hint={ROLE_HINTS[role]}>
          {(control) => (
            <select {...control} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        {role === 'project-admin' ? (
          <fieldset className={errors.fields.resources ? 'field field-invalid' : 'field'}>
            <legend>Resources</legend>
            <label className="toggle">
              <input type="checkbox" checked={allResources} onChange={(e) => setAllResources(e.target.checked)} />
              All resources
            </label>
            {!allResources
              ? (resources.data?.items ?? []).map((r) => (
                  <label key={r.name} className="toggle" style={{ display: 'flex' }}>
                    <input
                      type="checkbox"
                      checked={chosen.includes(r.name)}
                      onChange={(e) => setChosen((list) => (e.target.checked ? [...list, r.name] : list.filter((n) => n !== r.name)))}
                    />
                    {r.name}
                  </label>
                ))
              : null}
            {errors.fields.resources ? (
              <p className="field-error" role="alert">
                {errors.fields.resources}
              </p>
            ) : null}
          </fieldset>
        ) : null}
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
