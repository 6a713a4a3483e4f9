import { Readable } from 'node:stream';
import type { UpstreamResponse } from '../provider.js';

const JSON_HEADERS = { 'content-type': 'application/json', 'x-simulated': 'true' } as const;
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-simulated': 'true',
} as const;

export function jsonReply(status: number, value: unknown): UpstreamResponse {
  return { status, headers: { ...JSON_HEADERS }, body: Readable.from([Buffer.from(JSON.stringify(value))]) };
}

export function sseReply(body: Readable): UpstreamResponse {
  return { status: 200, headers: { ...SSE_HEADERS }, body };
}

/** OpenAI's error envelope: `{"error": {...}}`. */
export function errorReply(status: number, error: Record<string, unknown>): UpstreamResponse {
  return jsonReply(status, { error });
}
