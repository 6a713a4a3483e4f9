import { once } from 'node:events';
import type { FastifyReply } from 'fastify';
import type { SseUsageTap } from '../accounting/sse-usage-tap.js';
import type { UpstreamResponse } from '../providers/provider.js';
import { relayedHeaders } from './response-headers.js';

export function isEventStream(upstream: UpstreamResponse): boolean {
  const type = upstream.headers['content-type'];
  return typeof type === 'string' && type.startsWith('text/event-stream');
}

/** Reads a (JSON) upstream body whole: its usage is read before the client gets it. */
export async function readBody(upstream: UpstreamResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of upstream.body) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

export async function sendBuffered(
  reply: FastifyReply,
  upstream: UpstreamResponse,
  body: Buffer,
  headers: Record<string, string>,
): Promise<void> {
  await reply.code(upstream.status).headers(relayedHeaders(upstream.headers)).headers(headers).send(body);
}

/**
 * Passes an SSE stream through as it arrives, event by event, through the usage tap: no
 * buffering beyond a partial event, no re-serialising, with backpressure from the client.
 * Resolves when the stream is fully sent.
 */
export async function relayStream(
  reply: FastifyReply,
  upstream: UpstreamResponse,
  tap: SseUsageTap,
  headers: Record<string, string>,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(upstream.status, {
    ...(reply.getHeaders() as Record<string, string>),
    ...relayedHeaders(upstream.headers),
    ...headers,
    'cache-control': 'no-cache',
  });
  res.flushHeaders();
  for await (const chunk of upstream.body) {
    const out = tap.push(chunk as Buffer);
    if (out && !res.write(out)) await once(res, 'drain');
  }
  const rest = tap.flush();
  if (rest) res.write(rest);
  res.end();
}
