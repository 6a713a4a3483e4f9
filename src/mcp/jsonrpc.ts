import { ERROR_CATALOG, type TollgateError } from '../errors.js';

/** What the proxy needs to know of one JSON-RPC message a client sent (MCP 2025-06-18: one message per POST). */
export type ClientMessage =
  | { kind: 'request'; id: string | number; method: string; tool: string | null }
  | { kind: 'notification'; method: string }
  | { kind: 'response'; id: string | number | null }
  | { kind: 'batch' }
  | { kind: 'invalid'; problem: string };

export function describeMessage(body: unknown): ClientMessage {
  if (Array.isArray(body)) return { kind: 'batch' };
  if (body === null || typeof body !== 'object') return { kind: 'invalid', problem: 'The body is not a JSON-RPC message (an object).' };
  const m = body as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return { kind: 'invalid', problem: 'The message must carry "jsonrpc": "2.0".' };
  const id = m.id;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (typeof m.method === 'string') {
    if (id === undefined) return { kind: 'notification', method: m.method };
    if (!validId) return { kind: 'invalid', problem: 'A request id must be a string or a number.' };
    let tool: string | null = null;
    if (m.method === 'tools/call') {
      const params = m.params as Record<string, unknown> | undefined;
      if (!params || typeof params !== 'object' || typeof params.name !== 'string' || params.name.length === 0) {
        return { kind: 'invalid', problem: 'tools/call needs params.name, the name of the tool.' };
      }
      tool = params.name;
    }
    return { kind: 'request', id: id as string | number, method: m.method, tool };
  }
  if ('result' in m || 'error' in m) return { kind: 'response', id: validId ? (id as string | number) : null };
  return { kind: 'invalid', problem: 'The message is neither a request, a notification nor a response.' };
}

/** JSON-RPC error codes: -32600 for a malformed message, -32000 (server error) for every gateway refusal. */
const RPC_CODE: Partial<Record<TollgateError['code'], number>> = { invalid_request: -32600, request_too_large: -32600 };

/**
 * A catalogued error as a JSON-RPC error object: any MCP client shows its message; Tollgate's code
 * and the HTTP status are in `error.data`.
 */
export function jsonRpcError(error: TollgateError, id: string | number | null) {
  return {
    jsonrpc: '2.0' as const,
    id,
    error: {
      code: RPC_CODE[error.code] ?? -32000,
      message: error.message,
      data: { code: error.code, status: error.status, type: ERROR_CATALOG[error.code].type },
    },
  };
}
