import { useState, type FormEvent } from 'react';
import { PROVIDERS, type Deployment, type Provider } from '../api-types';
import { Field, FormError } from '../components/Field';
import { Modal } from '../components/Modal';
import { formErrorsOf, NO_ERRORS, type FormErrors } from '../form-errors';
import { useSession } from '../session';
import { BackendPoolFields, emptyBackend, poolBody, poolDraftOf, type PoolDraft } from './BackendPoolFields';
import { useNotify } from '../components/Toast';

const FIELDS = ['name', 'provider', 'upstreamUrl', 'upstreamModel', 'apiVersion', 'upstreamApiKey', 'defaultCompletionReservation', 'options', 'backends', 'retry', 'circuitBreaker', 'pricing'] as const;

const URL_HINTS: Record<Provider, string> = {
  openai: 'Optional: defaults to https://api.openai.com/v1.',
  'azure-openai': 'Your Azure OpenAI endpoint, e.g. https://my-resource.openai.azure.com.',
  'openai-compatible': 'The server’s OpenAI-style base URL, e.g. http://localhost:11434/v1.',
  anthropic: 'Optional: defaults to https://api.anthropic.com. Clients call it at /anthropic/v1/messages.',
  simulated: 'Not used by the simulated model.',
};

interface DeploymentDialogProps {
  resource: string;
  /** null: a new deployment. */
  deployment: Deployment | null;
  onClose(): void;
  onSaved(): void;
}

/** Create or edit a deployment. The upstream key is write-only: never shown, only "set" or "not set". */
export function DeploymentDialog({ resource, deployment, onClose, onSaved }: DeploymentDialogProps) {
  const { api } = useSession();
  const notify = useNotify();
  const [name, setName] = useState(deployment?.name ?? '');
  const [provider, setProvider] = useState<Provider>(deployment?.provider ?? 'openai');
  const [upstreamUrl, setUpstreamUrl] = useState(deployment?.upstreamUrl ?? '');
  const [upstreamModel, setUpstreamModel] = useState(deployment?.upstreamModel ?? '');
  const [apiVersion, setApiVersion] = useState(deployment?.apiVersion ?? '');
  const [upstreamApiKey, setUpstreamApiKey] = useState('');
  const [removeKey, setRemoveKey] = useState(false);
  const [reservation, setReservation] = useState(deployment?.defaultCompletionReservation?.toString() ?? '');
  const [options, setOptions] = useState(deployment ? JSON.stringify(deployment.options, null, 2) : '{}');
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [pending, setPending] = useState(false);
  // A pool replaces the one upstream: its URL and key fields give way to the backends'.
  const [isPool, setIsPool] = useState(Boolean(deployment?.backends));
  const [pool, setPool] = useState<PoolDraft>(() => poolDraftOf(deployment));
  const hasKey = deployment?.hasUpstreamApiKey ?? false;
  const [useCatalog, setUseCatalog] = useState(false);
  const [prices, setPrices] = useState(() => ({
    currency: deployment?.pricing?.currency ?? 'USD',
    inputPerMillion: deployment?.pricing?.inputPerMillion ?? '',
    outputPerMillion: deployment?.pricing?.outputPerMillion ?? '',
    cachedInputPerMillion: deployment?.pricing?.cachedInputPerMillion ?? '',
    cacheWritePerMillion: deployment?.pricing?.cacheWritePerMillion ?? '',
  }));
  const setPrice = (field: keyof typeof prices) => (value: string) => setPrices({ ...prices, [field]: value });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let parsedOptions: unknown;
    try {
      parsedOptions = JSON.parse(options.trim() || '{}');
    } catch {
      return setErrors({ fields: { options: 'Options must be a JSON object, e.g. {"completionTokens": 20}.' }, form: null });
    }
    if (typeof parsedOptions !== 'object' || parsedOptions === null || Array.isArray(parsedOptions)) {
      return setErrors({ fields: { options: 'Options must be a JSON object, e.g. {"completionTokens": 20}.' }, form: null });
    }
    const body: Record<string, unknown> = {
      provider,
      upstreamUrl: upstreamUrl.trim() || null,
      upstreamModel: upstreamModel.trim() || null,
      apiVersion: apiVersion.trim() || null,
      defaultCompletionReservation: reservation.trim() === '' ? null : Number(reservation),
      options: parsedOptions,
      pricing: pricingBody(useCatalog, prices),
    };
    if (isPool && provider !== 'simulated') {
      Object.assign(body, poolBody(pool, deployment), { upstreamUrl: null });
      if (hasKey) body.upstreamApiKey = null;
    } else {
      if (deployment?.backends) body.backends = null;
      // Write-only: sent only when typed (or explicitly removed); an empty box keeps the stored key.
      if (upstreamApiKey !== '') body.upstreamApiKey = upstreamApiKey;
      else if (removeKey) body.upstreamApiKey = null;
    }
    setPending(true);
    setErrors(NO_ERRORS);
    const base = `/resources/${encodeURIComponent(resource)}/deployments`;
    try {
      if (deployment) await api.patch(`${base}/${encodeURIComponent(deployment.name)}`, body);
      else await api.post(base, { name: name.trim(), ...body });
      notify(`Deployment ${deployment?.name ?? name.trim()} saved.`);
      onSaved();
    } catch (err) {
      setErrors(formErrorsOf(err, FIELDS, { already_exists: 'name' }));
      setPending(false);
    }
  };

  const keyStatus = deployment ? (hasKey ? 'set' : 'not set') : null;
  return (
    <Modal title={deployment ? `Edit deployment ${deployment.name}` : 'Add deployment'} onClose={onClose} wide>
      <form onSubmit={submit} noValidate>
        {deployment ? null : (
          <Field label="Name" error={errors.fields.name} hint="What clients send as the model, e.g. gpt-4o or team-chat.">
            {(control) => <input {...control} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
          </Field>
        )}
        <Field label="Provider" error={errors.fields.provider}>
          {(control) => (
            <select {...control} value={provider} onChange={(e) => setProvider(e.target.value as Provider)}>
              {PROVIDERS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          )}
        </Field>
        {provider === 'simulated' ? null : (
          <>
            <label className="toggle">
              <input
                type="checkbox"
                checked={isPool}
                onChange={(e) => {
                  setIsPool(e.target.checked);
                  if (e.target.checked && pool.backends.length === 0) setPool({ ...pool, backends: [emptyBackend()] });
                }}
              />{' '}
              Several upstreams (a backend pool with failover)
            </label>
            {isPool ? null : (
              <Field label="Upstream URL" error={errors.fields.upstreamUrl} hint={URL_HINTS[provider]}>
                {(control) => <input {...control} type="url" value={upstreamUrl} onChange={(e) => setUpstreamUrl(e.target.value)} autoComplete="off" />}
              </Field>
            )}
            <Field
              label="Upstream model"
              error={errors.fields.upstreamModel}
              hint={
                provider === 'azure-openai'
                  ? 'The Azure deployment name.'
                  : `The model name the upstream expects, e.g. ${provider === 'anthropic' ? 'claude-sonnet-4-5' : 'gpt-4o-mini'}.`
              }
            >
              {(control) => <input {...control} value={upstreamModel} onChange={(e) => setUpstreamModel(e.target.value)} autoComplete="off" />}
            </Field>
            {provider === 'azure-openai' ? (
              <Field label="API version" error={errors.fields.apiVersion} hint="Optional: defaults to the client's api-version.">
                {(control) => <input {...control} value={apiVersion} onChange={(e) => setApiVersion(e.target.value)} autoComplete="off" />}
              </Field>
            ) : null}
            {isPool ? (
              <BackendPoolFields draft={pool} errors={errors} onChange={setPool} />
            ) : (
            <Field
              label="Upstream API key"
              error={errors.fields.upstreamApiKey}
              hint={
                keyStatus === null
                  ? 'Stored encrypted and never shown again.'
                  : `Currently ${keyStatus}. Stored encrypted and never shown; type a new key to replace it, or leave empty to keep it.`
              }
            >
              {(control) => (
                <input
                  {...control}
                  type="password"
                  autoComplete="new-password"
                  value={upstreamApiKey}
                  placeholder={hasKey ? '•••••••• (set)' : ''}
                  onChange={(e) => setUpstreamApiKey(e.target.value)}
                />
              )}
            </Field>
            )}
            {hasKey && !isPool ? (
              <label className="toggle">
                <input type="checkbox" checked={removeKey} disabled={upstreamApiKey !== ''} onChange={(e) => setRemoveKey(e.target.checked)} /> Remove
                the stored key
              </label>
            ) : null}
          </>
        )}
        <Field
          label="Default completion reservation"
          error={errors.fields.defaultCompletionReservation}
          hint="Tokens reserved for the answer when a request sets no max_tokens. Empty: the gateway's default."
        >
          {(control) => (
            <input {...control} type="number" inputMode="numeric" min={1} step={1} value={reservation} onChange={(e) => setReservation(e.target.value)} />
          )}
        </Field>
        <Field
          label="Options (JSON)"
          error={errors.fields.options}
          hint={provider === 'simulated' ? 'Simulated model: latencyMs, chunkDelayMs, completionTokens.' : 'Provider-specific settings; usually {}.'}
        >
          {(control) => <textarea {...control} rows={3} spellCheck={false} value={options} onChange={(e) => setOptions(e.target.value)} />}
        </Field>
        <fieldset className="pricing">
          <legend>Prices per million tokens</legend>
          <label className="toggle">
            <input type="checkbox" checked={useCatalog} onChange={(e) => setUseCatalog(e.target.checked)} /> Take the prices from the built-in
            catalog (by the model sent upstream)
          </label>
          {useCatalog ? null : (
            <div className="field-pair">
              <Field label="Price currency" error={errors.fields.pricing} hint="ISO 4217, e.g. USD.">
                {(control) => <input {...control} maxLength={3} value={prices.currency} onChange={(e) => setPrice('currency')(e.target.value)} />}
              </Field>
              <Field label="Input price" hint="Empty input and output prices: no prices.">
                {(control) => <input {...control} inputMode="decimal" value={prices.inputPerMillion} onChange={(e) => setPrice('inputPerMillion')(e.target.value)} />}
              </Field>
              <Field label="Output price">
                {(control) => <input {...control} inputMode="decimal" value={prices.outputPerMillion} onChange={(e) => setPrice('outputPerMillion')(e.target.value)} />}
              </Field>
              <Field label="Cached input price" hint="Empty: the input price.">
                {(control) => (
                  <input {...control} inputMode="decimal" value={prices.cachedInputPerMillion} onChange={(e) => setPrice('cachedInputPerMillion')(e.target.value)} />
                )}
              </Field>
              <Field label="Cache write price" hint="Empty: the input price.">
                {(control) => (
                  <input {...control} inputMode="decimal" value={prices.cacheWritePerMillion} onChange={(e) => setPrice('cacheWritePerMillion')(e.target.value)} />
                )}
              </Field>
            </div>
          )}
        </fieldset>
        <FormError message={errors.form} />
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Saving…' : deployment ? 'Save' : 'Add deployment'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** The prices to send: the catalog's, the ones typed, or none (input and output left empty). */
function pricingBody(
  useCatalog: boolean,
  p: { currency: string; inputPerMillion: string; outputPerMillion: string; cachedInputPerMillion: string; cacheWritePerMillion: string },
): unknown {
  if (useCatalog) return 'catalog';
  if (p.inputPerMillion.trim() === '' && p.outputPerMillion.trim() === '') return null;
  return {
    currency: p.currency.trim().toUpperCase(),
    inputPerMillion: p.inputPerMillion.trim(),
    outputPerMillion: p.outputPerMillion.trim(),
    ...(p.cachedInputPerMillion.trim() === '' ? {} : { cachedInputPerMillion: p.cachedInputPerMillion.trim() }),
    ...(p.cacheWritePerMillion.trim() === '' ? {} : { cacheWritePerMillion: p.cacheWritePerMillion.trim() }),
  };
}
