import { Readable } from 'node:stream';
import { findOperationSpec } from '../../operations/registry.js';
import type { Operation, UpstreamResponse } from '../provider.js';

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

/**
 * An error in the operation's dialect: OpenAI's `{"error": {...}}`, or Anthropic's
 * `{"type": "error", "error": {"type", "message"}}`.
 */
export function errorReply(operation: Operation, status: number, error: { message: string; type: string } & Record<string, unknown>): UpstreamResponse {
  if (findOperationSpec(operation)?.dialect === 'anthropic') return jsonReply(status, { type: 'error', error: { type: error.type, message: error.message } });
  return jsonReply(status, { error });
}
