import { useState, type FormEvent } from 'react';
import { QUOTA_PERIODS, type Deployment, type GatewayProject, type Limit, type QuotaPeriod } from '../api-types';
import { Field, FormError } from '../components/Field';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { scopeOf } from './limit-scope';
import { useNotify } from '../components/Toast';

const FIELDS = ['project', 'deployment', 'tokensPerMinute', 'tokenQuota', 'quotaPeriod', 'budget'] as const;
const FIELD_OF_CODE = { limit_exists: 'deployment' };

interface LimitDialogProps {
  gateway: string;
  /** null: a new limit. */
  limit: Limit | null;
  projects: GatewayProject[];
  deployments: Deployment[];
  onClose(): void;
  onSaved(): void;
}

/** + Add limit / Edit: tokens per minute and a token quota with its period, for a project and deployment. */
export function LimitDialog({ gateway, limit, projects, deployments, onClose, onSaved }: LimitDialogProps) {
  const { api } = useSession();
  const notify = useNotify();
  const [project, setProject] = useState(limit?.project ?? '');
  const [deployment, setDeployment] = useState(limit?.deployment ?? '');
  const [tpm, setTpm] = useState(limit?.tokensPerMinute?.toString() ?? '');
  const [quota, setQuota] = useState(limit?.tokenQuota?.toString() ?? '');
  const [period, setPeriod] = useState<QuotaPeriod | ''>(limit?.quotaPeriod ?? '');
  const [budgetAmount, setBudgetAmount] = useState(limit?.budget?.amount ?? '');
  const [budgetCurrency, setBudgetCurrency] = useState(limit?.budget?.currency ?? 'USD');
  const [budgetPeriod, setBudgetPeriod] = useState<QuotaPeriod>(limit?.budget?.period ?? 'monthly');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  /** Set after a save the server warned about: the dialog stays open to show it. */
  const [warnings, setWarnings] = useState<string[] | null>(null);
  const chosenProject = project || projects[0]?.name || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const budget = budgetAmount.trim() === '' ? null : { amount: budgetAmount.trim(), currency: budgetCurrency.trim().toUpperCase(), period: budgetPeriod };
    const values = { tokensPerMinute: toTokens(tpm), tokenQuota: toTokens(quota), quotaPeriod: period === '' ? null : period, budget };
    if (Number.isNaN(values.tokensPerMinute) || Number.isNaN(values.tokenQuota)) {
      const field = Number.isNaN(values.tokensPerMinute) ? 'tokensPerMinute' : 'tokenQuota';
      return setErrors({ fields: { [field]: 'Enter a whole number of tokens.' }, form: null });
    }
    if (values.tokensPerMinute === null && values.tokenQuota === null && budget === null) {
      return setErrors({ fields: {}, form: 'Set tokens per minute, a token quota, a budget, or several.' });
    }
    if (values.tokenQuota !== null && values.quotaPeriod === null) {
      return setErrors({ fields: { quotaPeriod: 'Choose the period of the quota.' }, form: null });
    }
    if (values.tokenQuota === null && values.quotaPeriod !== null) {
      return setErrors({ fields: { tokenQuota: 'Set the quota, or clear its period.' }, form: null });
    }
    setPending(true);
    setErrors(NO_ERRORS);
    const base = `/gateways/${encodeURIComponent(gateway)}/limits`;
    try {
      const saved = limit
        ? await api.patch<Limit>(`${base}/${encodeURIComponent(limit.id)}`, values)
        : await api.post<Limit>(base, { project: chosenProject, deployment: deployment || null, ...values });
      notify(`Limit of project ${limit?.project ?? chosenProject} saved.`);
      if (saved?.warnings?.length) {
        setWarnings(saved.warnings);
        setPending(false);
      } else onSaved();
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS, FIELD_OF_CODE));
      setPending(false);
    }
  };

  const tokensHint = 'Leave empty for none.';
  if (warnings) {
    return (
      <Modal title="Limit saved" onClose={onSaved}>
        <div className="notice warning" role="alert" data-testid="limit-warnings">
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
          <p>Set max_tokens in the clients, or raise the limit, to get whole answers.</p>
        </div>
        <div className="form-actions">
          <button type="button" className="primary" onClick={onSaved}>
            OK
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title={limit ? 'Edit limit' : 'Add limit'} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        {limit ? (
          <p className="notice">
            Limit for <strong>{scopeOf(limit)}</strong>. Tokens already counted in the current minute and period are kept.
          </p>
        ) : (
          <>
            <Field label="Project" error={errors.fields.project}>
              {(control) => (
                <select {...control} value={chosenProject} onChange={(e) => setProject(e.target.value)}>
                  {projects.length === 0 ? <option value="">No projects in this resource</option> : null}
                  {projects.map((p) => (
                    <option key={p.name} value={p.name}>
                      {p.gatewayStatus === 'enabled' ? p.name : `${p.name} (not enabled on this gateway)`}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Deployment" error={errors.fields.deployment} hint="“All deployments” caps the project’s use of every deployment together.">
              {(control) => (
                <select {...control} value={deployment} onChange={(e) => setDeployment(e.target.value)}>
                  <option value="">All deployments</option>
                  {deployments.map((d) => (
                    <option key={d.name} value={d.name}>
                      {d.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </>
        )}
        <Field label="Tokens per minute" error={errors.fields.tokensPerMinute} hint={tokensHint}>
          {(control) => <input {...control} type="number" inputMode="numeric" min={1} step={1} value={tpm} onChange={(e) => setTpm(e.target.value)} />}
        </Field>
        <div className="field-pair">
          <Field label="Token quota" error={errors.fields.tokenQuota} hint={tokensHint}>
            {(control) => (
              <input {...control} type="number" inputMode="numeric" min={1} step={1} value={quota} onChange={(e) => setQuota(e.target.value)} />
            )}
          </Field>
          <Field label="Quota period" error={errors.fields.quotaPeriod} hint="Periods start at UTC boundaries (weeks on Monday).">
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
        <div className="field-pair">
          <Field label="Budget" error={errors.fields.budget} hint="Money per period, e.g. 25.50; leave empty for none. Needs the deployments' prices.">
            {(control) => <input {...control} inputMode="decimal" value={budgetAmount} onChange={(e) => setBudgetAmount(e.target.value)} />}
          </Field>
          <Field label="Currency" hint="ISO 4217, as the deployments' prices.">
            {(control) => <input {...control} maxLength={3} value={budgetCurrency} onChange={(e) => setBudgetCurrency(e.target.value)} />}
          </Field>
          <Field label="Budget period">
            {(control) => (
              <select {...control} value={budgetPeriod} onChange={(e) => setBudgetPeriod(e.target.value as QuotaPeriod)}>
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
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending || (!limit && projects.length === 0)}>
            {pending ? 'Saving…' : limit ? 'Save' : 'Add limit'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** An empty box is "no value"; a number goes to the API, which judges it (NaN: not a number at all). */
function toTokens(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === '' ? null : Number(trimmed);
}
