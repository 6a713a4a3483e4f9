import { useState, type FormEvent } from 'react';
import type { Gateway } from '../api-types';
import { Field, FormError } from '../components/Field';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { useNotify } from '../components/Toast';

/** Browser origins allowed to call the data plane with this gateway's project keys (CORS). */
export function CorsSetting({ gateway, onChanged }: { gateway: Gateway; onChanged(updated: Gateway): void }) {
  const { api, can } = useSession();
  const notify = useNotify();
  const [text, setText] = useState(gateway.corsOrigins.join('\n'));
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const corsOrigins = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      const updated = await api.patch<Gateway>(`/gateways/${encodeURIComponent(gateway.name)}`, { corsOrigins });
      // As the API keeps them: normalised, without duplicates.
      setText(updated.corsOrigins.join('\n'));
      onChanged(updated);
      notify('Browser access saved.');
    } catch (err) {
      setErrors(formErrorsOf(err, ['corsOrigins']));
    } finally {
      setPending(false);
    }
  };

  const hint = (
    <>
      One origin per line, as a browser sends it: <code>https://app.example.com</code> (scheme, host, port; no path). No wildcard: a page
      that calls the gateway holds a project key, so name the sites you trust. Empty: browsers may not call (the default).
    </>
  );
  return (
    <div className="setting" role="group" aria-labelledby="cors-title">
      <h3 id="cors-title">Browser access (CORS)</h3>
      {can.manageGateways ? (
        <form onSubmit={submit} noValidate aria-label="Browser access">
          <Field label="Allowed origins" error={errors.fields.corsOrigins} hint={hint}>
            {(control) => <textarea {...control} rows={3} value={text} spellCheck={false} onChange={(e) => setText(e.target.value)} />}
          </Field>
          <FormError message={errors.form} />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={pending}>
              {pending ? 'Saving…' : 'Save origins'}
            </button>
          </div>
        </form>
      ) : (
        <p>{gateway.corsOrigins.length > 0 ? gateway.corsOrigins.join(', ') : 'None: browsers may not call this gateway.'}</p>
      )}
    </div>
  );
}
