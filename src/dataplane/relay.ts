import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { SseUsageTap } from '../accounting/sse-usage-tap.js';
import type { TollgateError } from '../errors.js';
import { tooLarge, type Dialect, type UpstreamResponse } from '../providers/provider.js';
import { dialectErrorBody } from '../server/error-body.js';
import { relayedHeaders } from './response-headers.js';

export function isEventStream(upstream: UpstreamResponse): boolean {
  const type = upstream.headers['content-type'];
  return typeof type === 'string' && type.startsWith('text/event-stream');
}

/** Reads a (JSON) upstream body whole: its usage is read before the client gets it. */
export async function readBody(upstream: UpstreamResponse, maxBytes: number): Promise<Buffer> {
  if (upstream.body.collect) return upstream.body.collect(maxBytes);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of upstream.body) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) throw tooLarge('an answer', maxBytes); // leaving the loop stops the upstream
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Bodies up to this size are written together with the header, as one string. */
const ONE_WRITE_BYTES = 16 * 1024;

/**
 * Answers with the upstream's status, headers (those the client may see) and body, plus the
 * gateway's headers. A small body goes out in the same write as the header: Node joins a
 * string body to the header text, where a Buffer body takes a corked two-buffer write (~4 µs
 * more per request). As latin1, each byte is one character, so the bytes are sent unchanged.
 */
export function sendBuffered(
  res: ServerResponse,
  requestId: string,
  upstream: UpstreamResponse,
  body: Buffer,
  headers: Record<string, string>,
): void {
  const out = relayedHeaders(upstream.headers);
  for (const name in headers) out[name] = headers[name];
  out['content-length'] = body.length;
  out['x-request-id'] = requestId;
  res.writeHead(upstream.status, out);
  if (body.length <= ONE_WRITE_BYTES) res.end(body.toString('latin1'), 'latin1');
  else res.end(body);
}

/**
 * Passes an SSE stream through as it arrives, event by event, through the usage tap: no
 * buffering beyond a partial event, no re-serialising, with backpressure from the client.
 * Resolves when the stream is fully sent.
 */
export async function relayStream(
  res: ServerResponse,
  requestId: string,
  upstream: UpstreamResponse,
  tap: SseUsageTap,
  headers: Record<string, string>,
): Promise<void> {
  const out = relayedHeaders(upstream.headers);
  for (const name in headers) out[name] = headers[name];
  out['cache-control'] = 'no-cache';
  out['x-request-id'] = requestId;
  res.writeHead(upstream.status, out);
  res.flushHeaders();
  for await (const chunk of upstream.body) {
    const piece = tap.push(chunk as Buffer);
    if (piece && !res.write(piece)) await once(res, 'drain');
  }
  const rest = tap.flush();
  if (rest) res.write(rest);
  res.end();
}

/** Answers a catalogued error in the client's dialect, with its headers (Retry-After...). */
export function sendError(res: ServerResponse, requestId: string, error: TollgateError, dialect: Dialect, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...error.options.headers };
  // Clients that read only milliseconds (or ignore Retry-After from 60 s up) get the wait too.
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && headers['retry-after-ms'] === undefined) headers['retry-after-ms'] = String(Number(retryAfter) * 1000);
  if (closeConnection) headers.connection = 'close';
  sendJson(res, requestId, error.status, dialectErrorBody(error, dialect, requestId), headers);
}

export function sendJson(res: ServerResponse, requestId: string, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId,
  });
  res.end(text);
}
