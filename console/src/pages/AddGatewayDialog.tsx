import { useState, type FormEvent } from 'react';
import type { Gateway, Instance, List, Resource } from '../api-types';
import { Field, FormError } from '../components/Field';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { Link } from '../router';
import { useSession } from '../session';
import { useApiData } from '../use-api-data';

const FIELDS = ['name', 'resource', 'instance'] as const;
/** Conflicts the API reports without a param, placed next to the field they are about. */
const FIELD_OF_CODE = { already_exists: 'name', resource_has_gateway: 'resource', instance_in_use: 'instance' };

/** Add AI Gateway: pick the resource, a new or an existing (free) instance, and a name. */
export function AddGatewayDialog({ existing, onClose, onAdded }: { existing: Gateway[]; onClose(): void; onAdded(gateway: Gateway): void }) {
  const { api } = useSession();
  const resources = useApiData<List<Resource>>('/resources');
  const instances = useApiData<List<Instance>>('/instances');
  const [resource, setResource] = useState('');
  const [mode, setMode] = useState<'new' | 'existing'>('new');
  const [instance, setInstance] = useState('');
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);

  const governed = new Map(existing.map((g) => [g.resource, g.name]));
  const free = resources.data?.items.filter((r) => !governed.has(r.name)) ?? [];
  const eligible = instances.data?.items.filter((i) => i.eligible) ?? [];
  const chosenResource = resource || free[0]?.name || '';
  const chosenInstance = instance || eligible[0]?.name || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!chosenResource) return setErrors({ fields: { resource: 'Choose a resource.' }, form: null });
    if (mode === 'existing' && !chosenInstance) return setErrors({ fields: { instance: 'Choose an instance, or create a new one.' }, form: null });
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      const gateway = await api.post<Gateway>('/gateways', {
        name: name.trim(),
        resource: chosenResource,
        instance: mode === 'new' ? { mode: 'new' } : { mode: 'existing', name: chosenInstance },
      });
      onAdded(gateway);
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS, FIELD_OF_CODE));
      setPending(false);
    }
  };

  const loaded = resources.data !== undefined && instances.data !== undefined;
  return (
    <Modal title="Add AI Gateway" onClose={onClose}>
      <FormError message={resources.error?.message ?? instances.error?.message ?? null} />
      {!loaded ? (
        <p role="status">Loading resources and instances…</p>
      ) : free.length === 0 ? (
        <div className="notice">
          {resources.data?.items.length === 0 ? (
            <p>
              There is no resource to govern yet. <Link to="resources">Create a resource</Link> and its deployments first.
            </p>
          ) : (
            <p>
              Every resource already has its gateway (a resource has at most one). <Link to="resources">Create another resource</Link>{' '}
              to add a gateway for it.
            </p>
          )}
          <div className="form-actions">
            <button type="button" onClick={onClose}>
              Close
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label="Resource" error={errors.fields.resource} hint="The deployments and projects this gateway governs.">
            {(control) => (
              <select {...control} value={chosenResource} onChange={(e) => setResource(e.target.value)}>
                {resources.data?.items.map((r) => (
                  <option key={r.name} value={r.name} disabled={governed.has(r.name)}>
                    {governed.has(r.name) ? `${r.name} (governed by ${governed.get(r.name)})` : r.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <fieldset className={errors.fields.instance ? 'field field-invalid' : 'field'}>
            <legend>Instance</legend>
            <div className="radio-row">
              <label>
                <input type="radio" name="instance-mode" value="new" checked={mode === 'new'} onChange={() => setMode('new')} /> Create new
              </label>
              <label>
                <input type="radio" name="instance-mode" value="existing" checked={mode === 'existing'} onChange={() => setMode('existing')} /> Use
                existing
              </label>
            </div>
            {mode === 'new' ? (
              <p className="field-hint">A new instance named after the gateway; its nodes serve this gateway only.</p>
            ) : eligible.length > 0 ? (
              <Field label="Existing instance" hint="Only instances that back no gateway yet are listed.">
                {(control) => (
                  <select {...control} value={chosenInstance} onChange={(e) => setInstance(e.target.value)}>
                    {eligible.map((i) => (
                      <option key={i.name} value={i.name}>
                        {i.name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ) : (
              <p className="notice" role="status">
                {noEligibleInstance(instances.data?.items ?? [])}
              </p>
            )}
            {errors.fields.instance ? (
              <p className="field-error" role="alert">
                {errors.fields.instance}
              </p>
            ) : null}
          </fieldset>
          <Field label="Name" error={errors.fields.name} hint="Lowercase letters, digits and “-”.">
            {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} placeholder="gw-prod" autoComplete="off" />}
          </Field>
          <FormError message={errors.form} />
          <div className="form-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={pending || (mode === 'existing' && eligible.length === 0)}>
              {pending ? 'Adding…' : 'Add'}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

/** Why "Use existing" offers nothing. */
function noEligibleInstance(instances: Instance[]): string {
  if (instances.length === 0) return 'There are no instances yet. Create a new one.';
  const uses = instances.map((i) => `instance ${i.name} backs gateway ${i.gateway}`).join(', ');
  return `All instances already back a gateway: ${uses}. Create a new one.`;
}
