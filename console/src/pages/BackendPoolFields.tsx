import type { Backend, CircuitBreakerPolicy, Deployment, RetryPolicy } from '../api-types';
import { Field } from '../components/Field';
import type { FormErrors } from '../form-errors';

/** A backend as the form edits it: numbers as typed, the key write-only (empty keeps the stored one). */
export interface BackendDraft {
  /** The name it is stored under, to tell whether it has a key; null for a new row. */
  storedAs: string | null;
  hasKey: boolean;
  name: string;
  upstreamUrl: string;
  upstreamModel: string;
  priority: string;
  weight: string;
  upstreamApiKey: string;
}

/** The pool settings of the form; empty text means the documented default. */
export interface PoolDraft {
  backends: BackendDraft[];
  retryAttempts: string;
  breakerFailures: string;
  breakerInterval: string;
  breakerTrip: string;
  acceptRetryAfter: boolean;
}

export function emptyBackend(): BackendDraft {
  return { storedAs: null, hasKey: false, name: '', upstreamUrl: '', upstreamModel: '', priority: '1', weight: '1', upstreamApiKey: '' };
}

const text = (n: number | undefined) => (n === undefined ? '' : String(n));

export function poolDraftOf(deployment: Deployment | null): PoolDraft {
  const breaker = deployment?.circuitBreaker ?? {};
  return {
    backends: (deployment?.backends ?? []).map((b: Backend) => ({
      storedAs: b.name,
      hasKey: b.hasUpstreamApiKey,
      name: b.name,
      upstreamUrl: b.upstreamUrl,
      upstreamModel: b.upstreamModel ?? '',
      priority: String(b.priority),
      weight: String(b.weight),
      upstreamApiKey: '',
    })),
    retryAttempts: text(deployment?.retry?.attempts),
    breakerFailures: text(breaker.failures),
    breakerInterval: text(breaker.intervalSeconds),
    breakerTrip: text(breaker.tripSeconds),
    acceptRetryAfter: breaker.acceptRetryAfter ?? true,
  };
}

const numberOrUndefined = (value: string) => (value.trim() === '' ? undefined : Number(value));

/**
 * The pool fields of a deployment body. Settings the form does not show (retry.on,
 * circuitBreaker.statusCodes) are kept from `current`; a key is sent only when typed, so a backend
 * named as before keeps its stored key (docs/backends.md).
 */
export function poolBody(draft: PoolDraft, current: Deployment | null): { backends: unknown[]; retry: RetryPolicy | null; circuitBreaker: CircuitBreakerPolicy | null } {
  const backends = draft.backends.map((b) => ({
    name: b.name.trim(),
    upstreamUrl: b.upstreamUrl.trim(),
    ...(b.upstreamModel.trim() ? { upstreamModel: b.upstreamModel.trim() } : {}),
    ...(b.priority.trim() ? { priority: Number(b.priority) } : {}),
    ...(b.weight.trim() ? { weight: Number(b.weight) } : {}),
    ...(b.upstreamApiKey !== '' ? { upstreamApiKey: b.upstreamApiKey } : {}),
  }));
  const retry = withoutUndefined({ ...(current?.retry ?? {}), attempts: numberOrUndefined(draft.retryAttempts) });
  const breaker = withoutUndefined({
    ...(current?.circuitBreaker ?? {}),
    failures: numberOrUndefined(draft.breakerFailures),
    intervalSeconds: numberOrUndefined(draft.breakerInterval),
    tripSeconds: numberOrUndefined(draft.breakerTrip),
    // Only a departure from the default is stored.
    acceptRetryAfter: draft.acceptRetryAfter && current?.circuitBreaker?.acceptRetryAfter === undefined ? undefined : draft.acceptRetryAfter,
  });
  return { backends, retry: Object.keys(retry).length > 0 ? retry : null, circuitBreaker: Object.keys(breaker).length > 0 ? breaker : null };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

interface BackendPoolFieldsProps {
  draft: PoolDraft;
  errors: FormErrors;
  onChange(draft: PoolDraft): void;
}

/** The backends of a pool, each editable and removable, then its retry and breaker settings. */
export function BackendPoolFields({ draft, errors, onChange }: BackendPoolFieldsProps) {
  const setBackend = (index: number, patch: Partial<BackendDraft>) =>
    onChange({ ...draft, backends: draft.backends.map((b, i) => (i === index ? { ...b, ...patch } : b)) });
  const numberInput = (value: string, set: (v: string) => void, min = 1) => (control: object) => (
    <input {...control} type="number" inputMode="numeric" min={min} step={1} value={value} onChange={(e) => set(e.target.value)} />
  );
  return (
    <fieldset className="backend-pool">
      <legend>Backends</legend>
      <div className="backend-rows">
        {draft.backends.map((b, index) => {
          const label = b.name.trim() || `backend ${index + 1}`;
          return (
            <div className="backend-row" key={index} role="group" aria-label={`Backend ${index + 1}`}>
              <div className="field-grid">
                <Field label="Backend name">{(control) => <input {...control} value={b.name} onChange={(e) => setBackend(index, { name: e.target.value })} autoComplete="off" />}</Field>
                <Field label="Backend URL">
                  {(control) => <input {...control} type="url" value={b.upstreamUrl} onChange={(e) => setBackend(index, { upstreamUrl: e.target.value })} autoComplete="off" />}
                </Field>
                <Field label="Backend model" hint="Empty: the deployment's.">
                  {(control) => <input {...control} value={b.upstreamModel} onChange={(e) => setBackend(index, { upstreamModel: e.target.value })} autoComplete="off" />}
                </Field>
                <Field label="Priority" hint="1 is used first.">
                  {numberInput(b.priority, (v) => setBackend(index, { priority: v }))}
                </Field>
                <Field label="Weight" hint="Share within its priority.">
                  {numberInput(b.weight, (v) => setBackend(index, { weight: v }))}
                </Field>
                <Field label="Backend API key" hint={b.storedAs !== null && b.hasKey && b.name === b.storedAs ? 'Set; type a new key to replace it.' : 'Stored encrypted, never shown.'}>
                  {(control) => (
                    <input
                      {...control}
                      type="password"
                      autoComplete="new-password"
                      value={b.upstreamApiKey}
                      placeholder={b.hasKey && b.name === b.storedAs ? '•••••••• (set)' : ''}
                      onChange={(e) => setBackend(index, { upstreamApiKey: e.target.value })}
                    />
                  )}
                </Field>
              </div>
              <button type="button" className="danger-outline" aria-label={`Remove ${label}`} onClick={() => onChange({ ...draft, backends: draft.backends.filter((_, i) => i !== index) })}>
                Remove
              </button>
            </div>
          );
        })}
      </div>
      <button type="button" onClick={() => onChange({ ...draft, backends: [...draft.backends, emptyBackend()] })}>
        Add backend
      </button>
      <div className="field-grid">
        <Field label="Retry attempts" error={errors.fields.retry} hint="Upstream calls per request, the first included. Empty: one per backend, at most 5.">
          {numberInput(draft.retryAttempts, (v) => onChange({ ...draft, retryAttempts: v }))}
        </Field>
        <Field label="Breaker failures" error={errors.fields.circuitBreaker} hint="Failures within the interval that trip a backend. Empty: 5.">
          {numberInput(draft.breakerFailures, (v) => onChange({ ...draft, breakerFailures: v }))}
        </Field>
        <Field label="Breaker interval (s)" hint="Empty: 60.">
          {numberInput(draft.breakerInterval, (v) => onChange({ ...draft, breakerInterval: v }))}
        </Field>
        <Field label="Trip duration (s)" hint="How long a tripped backend is left out. Empty: 30.">
          {numberInput(draft.breakerTrip, (v) => onChange({ ...draft, breakerTrip: v }))}
        </Field>
      </div>
      <label className="toggle">
        <input type="checkbox" checked={draft.acceptRetryAfter} onChange={(e) => onChange({ ...draft, acceptRetryAfter: e.target.checked })} /> Trip a backend for
        exactly its Retry-After on a 429 or 503
      </label>
    </fieldset>
  );
}
