import { useState, type FormEvent } from 'react';
import { QUOTA_PERIODS, type Gateway, type QuotaPeriod } from '../api-types';
import { Field, FormError } from '../components/Field';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { limitValuesText } from './limit-scope';
import { useNotify } from '../components/Toast';

const TPM = 'defaultProjectLimit.tokensPerMinute';
const QUOTA = 'defaultProjectLimit.tokenQuota';
const PERIOD = 'defaultProjectLimit.quotaPeriod';
const FIELDS = [TPM, QUOTA, PERIOD] as const;

/**
 * The gateway's default project limit: it caps every enabled project that has no limit on all
 * deployments of its own, so a project created by a project-admin is never uncapped.
 */
export function DefaultLimitSetting({ gateway, onChanged }: { gateway: Gateway; onChanged(updated: Gateway): void }) {
  const { api, can } = useSession();
  const notify = useNotify();
  const current = gateway.defaultProjectLimit;
  const [tpm, setTpm] = useState(current?.tokensPerMinute?.toString() ?? '');
  const [quota, setQuota] = useState(current?.tokenQuota?.toString() ?? '');
  const [period, setPeriod] = useState<QuotaPeriod | ''>(current?.quotaPeriod ?? '');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  const path = `/gateways/${encodeURIComponent(gateway.name)}`;

  const save = async (defaultProjectLimit: unknown) => {
    setPending(true);
    setErrors(NO_ERRORS);
    try {
      onChanged(await api.patch<Gateway>(path, { defaultProjectLimit }));
      notify(defaultProjectLimit === null ? 'Default project limit removed.' : 'Default project limit saved.');
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS));
    } finally {
      setPending(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const values = { tokensPerMinute: toTokens(tpm), tokenQuota: toTokens(quota), quotaPeriod: period === '' ? null : period };
    if (Number.isNaN(values.tokensPerMinute)) return setErrors({ fields: { [TPM]: 'Enter a whole number of tokens.' }, form: null });
    if (Number.isNaN(values.tokenQuota)) return setErrors({ fields: { [QUOTA]: 'Enter a whole number of tokens.' }, form: null });
    if (values.tokensPerMinute === null && values.tokenQuota === null) {
      return setErrors({ fields: {}, form: 'Set tokens per minute, a token quota, or both — or remove the default.' });
    }
    if (values.tokenQuota !== null && values.quotaPeriod === null) return setErrors({ fields: { [PERIOD]: 'Choose the period of the quota.' }, form: null });
    if (values.tokenQuota === null && values.quotaPeriod !== null) return setErrors({ fields: { [QUOTA]: 'Set the quota, or clear its period.' }, form: null });
    // All three given: the default becomes exactly this.
    void save(values);
  };

  const remove = () => {
    setTpm('');
    setQuota('');
    setPeriod('');
    void save(null);
  };

  return (
    <div className="setting" role="group" aria-labelledby="default-limit-title">
      <h3 id="default-limit-title">Default project limit</h3>
      <p className="field-hint">
        Caps every enabled project that has no limit on all deployments of its own — projects created later included, from their first
        request. A project's own limit replaces it. Now: <strong>{current ? limitValuesText(current) : 'none (projects without a limit are uncapped)'}</strong>.
      </p>
      {can.manageGateways ? (
        <form onSubmit={submit} noValidate aria-label="Default project limit">
          <Field label="Default tokens per minute" error={errors.fields[TPM]} hint="Leave empty for none.">
            {(control) => <input {...control} type="number" inputMode="numeric" min={1} step={1} value={tpm} onChange={(e) => setTpm(e.target.value)} />}
          </Field>
          <div className="field-pair">
            <Field label="Default token quota" error={errors.fields[QUOTA]} hint="Leave empty for none.">
              {(control) => (
                <input {...control} type="number" inputMode="numeric" min={1} step={1} value={quota} onChange={(e) => setQuota(e.target.value)} />
              )}
            </Field>
            <Field label="Default quota period" error={errors.fields[PERIOD]}>
              {(control) => (
                <select {...control} value={period} onChange={(e) => setPeriod(e.target.value as QuotaPeriod | '')}>
                  <option value="">No quota</option>
                  {QUOTA_PERIODS.map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <FormError message={errors.form} />
          <div className="form-actions">
            {current ? (
              <button type="button" className="danger-outline" disabled={pending} onClick={remove}>
                Remove default
              </button>
            ) : null}
            <button type="submit" className="primary" disabled={pending}>
              {pending ? 'Saving…' : 'Save default'}
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

/** An empty box is "no value"; a number goes to the API, which judges it (NaN: not a number at all). */
function toTokens(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === '' ? null : Number(trimmed);
}
