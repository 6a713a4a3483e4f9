import { ERROR_CATALOG, type TollgateError } from '../errors.js';

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
