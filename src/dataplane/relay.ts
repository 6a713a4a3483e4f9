import { once } from 'node:events';
import type { FastifyReply } from 'fastify';
import type { UpstreamResponse } from '../providers/provider.js';
import { relayedHeaders } from './response-headers.js';

export function isEventStream(upstream: UpstreamResponse): boolean {
  const type = upstream.headers['content-type'];
  return typeof type === 'string' && type.startsWith('text/event-stream');
}

/** Buffers a JSON answer (its usage is read before the client gets it) and sends it. */
export async function relayBuffered(reply: FastifyReply, upstream: UpstreamResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of upstream.body) chunks.push(chunk as Buffer);
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  await reply.code(upstream.status).headers(relayedHeaders(upstream.headers)).send(body);
  return body;
}

/**
 * Passes an SSE stream through chunk by chunk, as it arrives: no buffering, no re-serialising,
 * with backpressure from the client. Resolves when the stream is fully sent.
 */
export async function relayStream(reply: FastifyReply, upstream: UpstreamResponse): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(upstream.status, {
    ...(reply.getHeaders() as Record<string, string>),
    ...relayedHeaders(upstream.headers),
    'cache-control': 'no-cache',
  });
  res.flushHeaders();
  for await (const chunk of upstream.body) {
    if (!res.write(chunk as Buffer)) await once(res, 'drain');
  }
  res.end();
}
