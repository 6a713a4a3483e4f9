import type { List } from '../controlplane/api-types.js';

/**
 * A small client for the admin REST API (/admin/v1). Every failure becomes a plain Error whose
 * message is one line for bin.ts to print after "tollgate: " — expected failures carry no stack.
 */

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const TIMEOUT_MS = 30_000;

/** An error answer of the API: `{"error": {"message", "type", "code", "param"}}`. */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(code ? `${message} (${code})` : message);
    this.name = 'AdminApiError';
  }
}

/** A list answer of the admin API. */
export type ListBody<T> = List<T>;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export class AdminClient {
  private readonly base: string;

  constructor(
    /** As the user gave it, for messages. */
    readonly url: string,
    private readonly token: string,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--url "${url}" is not a valid URL (e.g. ${DEFAULT_URL})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`--url "${url}" must start with http:// or https://`);
    }
    this.base = `${url.replace(/\/+$/, '')}/admin/v1`;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  /** Answers the body when there is one: most deletes answer 204, disabling a project answers JSON. */
  delete<T = undefined>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    let status: number;
    let text: string;
    try {
      const res = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          // Only with a body: Fastify rejects an empty body declared as JSON.
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw connectionError(this.url, err);
    }
    const json = parseJson(text);
    if (status >= 200 && status < 300) {
      if (text !== '' && json === undefined) throw new Error(`unexpected non-JSON answer from ${this.url}: is it a Tollgate gateway?`);
      return json as T;
    }
    throw apiError(this.url, status, json);
  }
}

/** Builds a path from literal parts and user-given names, which are escaped. */
export function apiPath(strings: TemplateStringsArray, ...names: string[]): string {
  return strings.reduce((path, part, i) => path + part + (i < names.length ? encodeURIComponent(names[i]!) : ''), '');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function apiError(url: string, status: number, json: unknown): Error {
  const error = isObject(json) && isObject(json.error) ? json.error : null;
  if (error && typeof error.message === 'string') {
    return new AdminApiError(oneLine(error.message), status, typeof error.code === 'string' ? error.code : null);
  }
  // Not the gateway's error shape: a proxy, or --url pointing at something else.
  return new AdminApiError(`unexpected HTTP ${status} from ${url}: is it a Tollgate gateway?`, status, null);
}

function connectionError(url: string, err: unknown): Error {
  if (err instanceof Error && err.name === 'TimeoutError') {
    return new Error(`no answer from the gateway at ${url} within ${TIMEOUT_MS / 1000} s`);
  }
  // fetch reports "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause.
  const cause = err instanceof Error ? err.cause : undefined;
  const code = isObject(cause) && typeof cause.code === 'string' ? cause.code : null;
  if (code === 'ECONNREFUSED') {
    return new Error(`cannot connect to ${url} (connection refused): is the gateway running? (tollgate start)`);
  }
  const reason = code ?? (cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err));
  return new Error(`cannot reach ${url} (${oneLine(reason)}): is the gateway running and --url right? (tollgate start)`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');
