import { ERROR_CATALOG, type TollgateError } from '../errors.js';
import type { Dialect } from '../providers/provider.js';

/**
 * OpenAI's error shape, `{"error": {"message", "type", "code", "param"}}`. The admin API uses the
 * same body: its `{error: {code, message}}` contract is a subset of it.
 */
export function errorBody(err: TollgateError) {
  return {
    error: {
      message: err.message,
      type: ERROR_CATALOG[err.code].type,
      code: err.code,
      param: err.options.param ?? null,
    },
  };
}

/**
 * Anthropic's error shape, `{"type": "error", "error": {"type", "message"}}`, with the error type
 * Anthropic uses for the status (the SDK picks its error class by status; scripts read `type`),
 * and Tollgate's stable `code` alongside, as in every other dialect.
 */
export function anthropicErrorBody(err: TollgateError, requestId: string) {
  return {
    type: 'error',
    error: { type: ANTHROPIC_ERROR_TYPES[err.status] ?? 'api_error', message: err.message, code: err.code },
    request_id: requestId,
  };
}

/** Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors). */
const ANTHROPIC_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
};

export function dialectErrorBody(err: TollgateError, dialect: Dialect, requestId: string) {
  return dialect === 'anthropic' ? anthropicErrorBody(err, requestId) : errorBody(err);
}
