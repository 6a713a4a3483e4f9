import { errors, type Dispatcher } from 'undici';
import type { ProviderName } from '../../domain/model.js';
import {
  UpstreamFailure,
  type DeploymentSettings,
  type Operation,
  type Provider,
  type SettingProblem,
  type UpstreamCall,
  type UpstreamResponse,
} from '../provider.js';
import { dispatchPost } from './dispatch.js';

export interface HttpProviderDeps {
  /** One pooled keep-alive client shared by every upstream. */
  dispatcher: Dispatcher;
  /** Bounds the wait for response headers and the silence between body chunks. */
  timeoutMs: number;
}

export interface UpstreamTarget {
  url: string;
  headers: Record<string, string>;
}

/**
 * Shared transport for providers that speak HTTP: a subclass says where a call goes and how it
 * authenticates; sending, timeouts and error mapping are the same for all.
 */
export abstract class HttpProvider implements Provider {
  abstract readonly name: ProviderName;
  abstract readonly operations: ReadonlySet<Operation>;

  constructor(protected readonly deps: HttpProviderDeps) {}

  abstract validate(settings: DeploymentSettings): SettingProblem | null;
  protected abstract target(call: UpstreamCall): UpstreamTarget;

  /**
   * The body sent upstream: the client's, addressed to the upstream model. Forwarded as received
   * when nothing changes (no re-serialising a long prompt).
   */
  protected upstreamBody(call: UpstreamCall): string {
    if (call.bodyText !== null && call.body.model === call.deployment.upstreamModel) return call.bodyText;
    return JSON.stringify({ ...call.body, model: call.deployment.upstreamModel });
  }

  async send(call: UpstreamCall): Promise<UpstreamResponse> {
    const { url, headers } = this.target(call);
    const { origin, path, basic } = this.split(url);
    const flat: string[] = [];
    for (const name in headers) flat.push(name, headers[name]!);
    if (basic !== null && headers.authorization === undefined) flat.push('authorization', basic);
    // Usage is read from the body, so ask for it uncompressed.
    flat.push('content-type', 'application/json', 'accept-encoding', 'identity', 'x-request-id', call.requestId);
    try {
      return await dispatchPost(
        this.deps.dispatcher,
        { origin, path, headers: flat, body: this.upstreamBody(call), timeoutMs: this.deps.timeoutMs },
        call.cancellation,
        (err, midBody) => toUpstreamFailure(err, url, midBody),
      );
    } catch (err) {
      throw toUpstreamFailure(err, url);
    }
  }

  /** Upstream URLs are few (one per deployment and operation): parse each once. */
  private readonly parsed = new Map<string, { origin: string; path: string; basic: string | null }>();

  /** Origin, path and query; a user and password in the URL become Basic authentication. */
  private split(url: string): { origin: string; path: string; basic: string | null } {
    let parts = this.parsed.get(url);
    if (!parts) {
      const u = new URL(url);
      const credentials = u.username || u.password ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : null;
      parts = { origin: u.origin, path: u.pathname + u.search, basic: credentials === null ? null : `Basic ${Buffer.from(credentials).toString('base64')}` };
      if (this.parsed.size >= 10_000) this.parsed.clear();
      this.parsed.set(url, parts);
    }
    return parts;
  }
}

/**
 * Maps transport errors to the two failures clients can act on; client aborts (and failures
 * already mapped) pass through. `midBody`: the upstream had begun its answer when it failed.
 */
export function toUpstreamFailure<E>(err: E, url: string, midBody = false): E | UpstreamFailure {
  if (err instanceof UpstreamFailure || err instanceof errors.RequestAbortedError || (err as Error | null)?.name === 'AbortError') return err;
  const origin = safeOrigin(url);
  if (
    err instanceof errors.HeadersTimeoutError ||
    err instanceof errors.BodyTimeoutError ||
    err instanceof errors.ConnectTimeoutError
  ) {
    const what = midBody ? 'stopped sending its answer for longer than the upstream timeout' : 'did not answer in time';
    return new UpstreamFailure('timeout', `the upstream ${origin} ${what}`, { cause: err });
  }
  const code = (err as { code?: string } | null)?.code ?? (err as { cause?: { code?: string } } | null)?.cause?.code;
  const reason = code ? ` (${code})` : '';
  const what = midBody ? 'broke the connection in the middle of its answer' : 'could not be reached';
  return new UpstreamFailure('unreachable', `the upstream ${origin} ${what}${reason}`, { cause: err });
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'URL';
  }
}

export function validateHttpUrl(value: string | null, field = 'upstreamUrl'): SettingProblem | null {
  if (value === null) return { field, message: `${field} is required for this provider` };
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { field, message: `${field} must be an http(s) URL` };
  } catch {
    return { field, message: `${field} must be an absolute http(s) URL, e.g. https://api.openai.com/v1` };
  }
  return null;
}

/** Joins a base URL and a path without doubling or losing the slash between them. */
export function joinUrl(base: string, path: string): string {
  // A base URL may carry a query (credentials such as `?key=`): the path goes before it.
  const q = base.indexOf('?');
  if (q === -1) return base.replace(/\/+$/, '') + path;
  return `${base.slice(0, q).replace(/\/+$/, '')}${path}${path.includes('?') ? '&' : '?'}${base.slice(q + 1)}`;
}

/** `url` with one more query parameter. */
export function withParam(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}
