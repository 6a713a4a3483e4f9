import { ERROR_CATALOG, type TollgateError } from '../errors.js';

/** JSON-RPC methods of A2A 1.0 (PascalCase) and 0.3 (slash-separated): named in the agent ledger. */
export const A2A_METHODS: ReadonlySet<string> = new Set([
  // 1.0
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
  'GetExtendedAgentCard',
  // 0.3
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
  'agent/getAuthenticatedExtendedCard',
]);

/** A JSON-RPC request's method and id, as far as the body tells them. */
export interface RpcCall {
  /** The method, when the body is a JSON-RPC request; an unknown one is kept as `other:<method>`-free text (truncated). */
  method: string | null;
  id: string | number | null;
}

const NO_CALL: RpcCall = { method: null, id: null };

/** Reads a JSON-RPC request's method and id from a body; anything else is no call (the agent answers it). */
export function rpcCallOf(body: string): RpcCall {
  if (body.length === 0 || body.trimStart()[0] !== '{') return NO_CALL;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return NO_CALL;
  }
  if (typeof parsed !== 'object' || parsed === null) return NO_CALL;
  const { method, id } = parsed as { method?: unknown; id?: unknown };
  return {
    method: typeof method === 'string' ? method.slice(0, 100) : null,
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
  };
}

/**
 * A refusal as an A2A client reads it: a JSON-RPC error (server-error range), with Tollgate's
 * stable code and the HTTP status in `error.data`.
 */
export function jsonRpcErrorBody(err: TollgateError, id: string | number | null) {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: -32000 - (err.status % 100),
      message: err.message,
      data: { code: err.code, type: ERROR_CATALOG[err.code].type, status: err.status },
    },
  };
}
