import { TollgateError } from '../../errors.js';
import { UpstreamFailure, type UpstreamCall, type UpstreamResponse } from '../../providers/provider.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { BackendPool, BackendRuntime, DeploymentRuntime } from '../../snapshot/config-snapshot.js';
import type { ExchangeRecord } from '../exchange-observer.js';
import type { BackendPicker } from './backend-picker.js';

/**
 * Sends a call to a deployment's pool: to the backend the picker chooses, and on a retryable
 * answer (429, 5xx...) or failure (refused, timed out) — which all come before any byte reaches
 * the client — to the next one, up to the pool's attempts. Resolves with the answer to relay;
 * the data plane never retries once it relays. The caller's one token reservation covers every
 * attempt: a failed attempt is never settled, so it costs nothing.
 */
export async function sendToPool(
  providers: ProviderRegistry,
  picker: BackendPicker,
  pool: BackendPool,
  call: Omit<UpstreamCall, 'deployment'>,
  record: ExchangeRecord,
): Promise<UpstreamResponse> {
  const breakers = picker.breakers;
  const tried = new Set<string>();
  /** The last retryable answer or failure, given to the client when no backend is left to try. */
  let held: UpstreamResponse | null = null;
  let heldFailure: UpstreamFailure | null = null;
  let attempts = 0;
  let unsupported = false;
  const traffic = picker.traffic;
  /** The backend of the last failed call: failed over when another call follows, else the request's error. */
  let failedBackend: BackendRuntime | null = null;
  const failedFinally = () => {
    if (failedBackend) traffic.count(failedBackend.key, failedBackend.deployment.name, failedBackend.name, 'error');
  };
  while (attempts < pool.attempts) {
    const backend = picker.pick(pool, tried, Date.now());
    if (!backend) break;
    tried.add(backend.name);
    const provider = providerOf(providers, backend.deployment);
    if (!provider.operations.has(call.operation)) {
      // Same API family, not every operation (e.g. one Azure lacks): this backend cannot serve it.
      breakers.abandoned(backend.key);
      unsupported = true;
      continue;
    }
    if (held) discard(held);
    held = heldFailure = null;
    if (failedBackend) traffic.count(failedBackend.key, failedBackend.deployment.name, failedBackend.name, 'failed_over');
    failedBackend = null;
    record.backend = backend.name;
    record.attempts = ++attempts;
    let upstream: UpstreamResponse;
    try {
      upstream = await provider.send({ ...call, deployment: backend.deployment });
    } catch (err) {
      if (err instanceof UpstreamFailure && err.kind !== 'too_large' && !call.cancellation.cancelled) {
        breakers.failed(backend.key, pool.breaker, Date.now(), null);
        if (pool.retryOn.has(err.kind)) {
          heldFailure = err;
          failedBackend = backend;
          continue;
        }
      } else {
        breakers.abandoned(backend.key);
      }
      traffic.count(backend.key, backend.deployment.name, backend.name, 'error');
      throw err;
    }
    judge(picker, pool, backend, upstream);
    if (!pool.retryOn.has(upstream.status)) {
      traffic.count(backend.key, backend.deployment.name, backend.name, 'ok');
      return upstream;
    }
    held = upstream;
    failedBackend = backend;
  }
  failedFinally();
  if (held) return held;
  if (heldFailure) throw heldFailure;
  if (attempts === 0 && unsupported) throw new TollgateError('invalid_request', `No eligible backend of deployment "${record.deployment ?? ''}" supports ${call.operation}.`);
  throw backendsUnavailable(picker, pool, record.deployment ?? '');
}

/** Tells the backend's breaker what its answer says of it. */
function judge(picker: BackendPicker, pool: BackendPool, backend: BackendRuntime, upstream: UpstreamResponse): void {
  if (!pool.breaker.statusCodes.has(upstream.status)) {
    picker.breakers.succeeded(backend.key);
    return;
  }
  const wait = upstream.status === 429 || upstream.status === 503 ? retryAfterMs(upstream.headers) : null;
  picker.breakers.failed(backend.key, pool.breaker, Date.now(), wait);
}

/** The upstream's own wait: `retry-after-ms`, `x-ms-retry-after-ms` (ms) or `Retry-After` (seconds or a date). */
export function retryAfterMs(headers: UpstreamResponse['headers'], nowMs = Date.now()): number | null {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(first(headers[name]));
    if (first(headers[name]) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = first(headers['retry-after']);
  if (value === undefined) return null;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** 503 backends_unavailable, with the wait until the soonest backend takes requests again. */
function backendsUnavailable(picker: BackendPicker, pool: BackendPool, deployment: string): TollgateError {
  const now = Date.now();
  const waitMs = Math.max(1, picker.soonestRecovery(pool, now) - now);
  const seconds = Math.ceil(waitMs / 1000);
  return new TollgateError(
    'backends_unavailable',
    `Every backend of deployment "${deployment}" is tripped by its circuit breaker; try again in ${seconds} seconds.`,
    { headers: { 'retry-after': String(seconds), 'retry-after-ms': String(waitMs) } },
  );
}

function providerOf(providers: ProviderRegistry, deployment: DeploymentRuntime) {
  const provider = providers.get(deployment.provider);
  if (!provider) throw new TollgateError('invalid_request', `Provider "${deployment.provider}" is not available.`);
  return provider;
}

/** An answer not relayed: stop reading it (its connection is not reused). */
function discard(upstream: UpstreamResponse): void {
  const it = upstream.body[Symbol.asyncIterator]();
  void it.return?.()?.catch(() => undefined);
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
