import type { OutgoingHttpHeaders } from 'node:http';

/** Upstream headers the gateway must not pass on: hop-by-hop, recomputed, or its own to set. */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  // The upstream's Vary is about its answer; the gateway's varies on Origin (CORS, set before the
  // answer is written), which the upstream's would replace.
  'vary',
  'date',
  'server',
  'set-cookie',
  'x-request-id',
  'proxy-authenticate',
  'trailer',
  'upgrade',
]);

/**
 * Headers for the client from the upstream's. The upstream's own rate-limit headers describe our
 * key, not theirs; its CORS headers describe its policy, not the gateway's (src/dataplane/cors.ts),
 * and would override the gateway's in the answer.
 */
export function relayedHeaders(upstream: Readonly<Record<string, string | string[] | undefined>>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROPPED.has(name) || name.startsWith('x-ratelimit-') || name.startsWith('access-control-')) continue;
    out[name] = value;
  }
  const upstreamId = upstream['x-request-id'];
  if (upstreamId !== undefined) out['x-upstream-request-id'] = upstreamId;
  return out;
}
