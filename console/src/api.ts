/** The admin REST API client: bearer admin token, JSON in and out, catalogued errors as ApiError. */

export const API_BASE = '/admin/v1';

/** An error the API answered (`{error: {message, type, code, param}}`) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field at fault, as the API names it (e.g. "name", "instance.name"). */
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

/** Builds a query string from the defined values only. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Encodes one path segment (names are URL-safe by the API's rules, but input typed by hand may not be). */
export const seg = (value: string) => encodeURIComponent(value);

export function createApiClient(token: string, onUnauthorized: (error: ApiError) => void): ApiClient {
  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${API_BASE}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'network_error', 'The gateway could not be reached. Check that it is running and reload.');
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const error = toApiError(response.status, parsed, text);
      if (response.status === 401) onUnauthorized(error);
      throw error;
    }
    return parsed as T;
  }
  return {
    get: (path, signal) => call('GET', path, undefined, signal),
    post: (path, body) => call('POST', path, body),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    delete: (path) => call('DELETE', path),
  };
}

function toApiError(status: number, body: unknown, text: string): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error: { code?: unknown; message?: unknown; param?: unknown } }).error;
    if (typeof error === 'object' && error !== null) {
      return new ApiError(
        status,
        typeof error.code === 'string' ? error.code : 'unknown_error',
        typeof error.message === 'string' ? error.message : `HTTP ${status}`,
        typeof error.param === 'string' && error.param !== '' ? error.param : null,
      );
    }
  }
  return new ApiError(status, 'unknown_error', `The gateway answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

/** A message for any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Signs in: answers who the token belongs to, or throws the API's error. */
export async function fetchWhoAmI<T>(token: string): Promise<T> {
  return createApiClient(token, () => {}).get<T>('/whoami');
}
