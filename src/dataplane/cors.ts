import type { IncomingMessage, ServerResponse } from 'node:http';
import { TollgateError } from '../errors.js';
import type { ConfigSnapshot, GatewayRuntime } from '../snapshot/config-snapshot.js';

/**
 * CORS for browser apps calling the data plane, off unless a gateway lists the page's origin.
 *
 * A preflight carries no key, so the gateway of the request to come is unknown: it is admitted
 * when any gateway served by this node lists the origin. The request itself is then checked
 * against its project's gateway: only when that gateway lists the origin does the answer carry
 * `Access-Control-Allow-Origin` (so a browser lets the page read it). Answers given before the
 * project is known (a missing or unknown key) follow the preflight's rule, so the page can read
 * why it was refused.
 */

/** Request headers the official SDKs send from a browser, besides the CORS-safelisted ones. */
const ALLOWED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'api-key',
  'x-api-key',
  'content-type',
  'user-agent',
  'idempotency-key',
  'x-request-id',
]);
/** Families of headers the SDKs add and grow between versions: x-stainless-retry-count, openai-project, anthropic-beta… */
const ALLOWED_PREFIXES = ['x-stainless-', 'openai-', 'anthropic-'] as const;
/** Named when a preflight asks for none (only `*` is a wildcard in the header, and never covers authorization). */
const DEFAULT_ALLOWED = [...ALLOWED_HEADERS, 'anthropic-version', 'anthropic-beta', 'openai-organization', 'openai-project'].join(', ');

/** What a page may read of an answer: the limit headers and what a client needs to retry or report. */
const EXPOSED_HEADERS = [
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'x-quota-remaining-tokens',
  'x-tokens-consumed',
  'x-request-id',
  'x-upstream-request-id',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
].join(', ');

/** How long a browser may reuse a preflight answer (Chromium caps it at 2 h). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Starts the CORS headers of a browser's request (one with an Origin), before the key is checked:
 * the page may read the answer when any gateway served here lists its origin. Set on the
 * response now, they merge into whatever answer is written later.
 */
export function beginCors(res: ServerResponse, snapshot: ConfigSnapshot, origin: string): void {
  res.setHeader('vary', 'Origin');
  if (!snapshot.corsOrigins.has(origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
}

/** Once the project is known: its gateway's list decides (the answer is about its use of that gateway). */
export function narrowCors(res: ServerResponse, gateway: GatewayRuntime | null, origin: string): void {
  if (gateway !== null && gateway.corsOrigins.has(origin)) return;
  res.removeHeader('access-control-allow-origin');
  res.removeHeader('access-control-expose-headers');
}

/**
 * Answers a preflight: 204 with the CORS headers when a gateway served here lists the origin;
 * otherwise the catalogued 403 without them, which the browser reports as a CORS failure.
 */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, snapshot: ConfigSnapshot, origin: string): TollgateError | null {
  if (!snapshot.corsOrigins.has(origin)) {
    return new TollgateError(
      'cors_origin_not_allowed',
      `Origin ${origin} may not call this gateway from a browser. An admin can list it in the gateway's corsOrigins.`,
    );
  }
  const headers: Record<string, string> = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST, GET, OPTIONS',
    'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
    vary: 'Origin, Access-Control-Request-Headers',
  };
  const allowed = allowedHeaders(req.headers['access-control-request-headers']);
  if (allowed !== '') headers['access-control-allow-headers'] = allowed;
  res.writeHead(204, headers);
  res.end();
  return null;
}

/**
 * The requested headers that are allowed, named back (a browser checks each one it asked for; one
 * left out fails the preflight with a message naming it). Without a request, the usual ones.
 */
function allowedHeaders(requested: string | undefined): string {
  if (requested === undefined) return DEFAULT_ALLOWED;
  const names = requested
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => ALLOWED_HEADERS.has(h) || ALLOWED_PREFIXES.some((prefix) => h.startsWith(prefix)));
  return names.join(', ');
}
