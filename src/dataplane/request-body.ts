import { TollgateError } from '../errors.js';
import type { OperationSpec } from '../operations/operation.js';

/** The few fields the gateway itself acts on; everything else goes upstream untouched. */
export interface RequestFacts {
  model: string | null;
  stream: boolean;
  /** max_tokens | max_completion_tokens | max_output_tokens, when the client set one. */
  maxOutputTokens: number | null;
}

/**
 * Checks the types of what the gateway reads, so a malformed request gets a clear 400 here rather
 * than a confusing answer from upstream. Deliberately shallow: the upstream validates the rest.
 */
export function readRequestFacts(body: unknown, spec: OperationSpec): RequestFacts {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('The request body must be a JSON object.');
  }
  const b = body as Record<string, unknown>;
  if (b.model !== undefined && typeof b.model !== 'string') throw invalid("'model' must be a string.", 'model');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') throw invalid("'stream' must be a boolean.", 'stream');
  const required = spec.required;
  if (!required.accepts(b[required.field])) throw invalid(`'${required.field}' must be ${required.what}.`, required.field);
  return {
    model: (b.model as string | undefined) ?? null,
    stream: b.stream === true,
    maxOutputTokens:
      positiveInt(b, 'max_tokens') ?? positiveInt(b, 'max_completion_tokens') ?? positiveInt(b, 'max_output_tokens'),
  };
}

function positiveInt(b: Record<string, unknown>, field: string): number | null {
  const v = b[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(`'${field}' must be a positive integer (at most 2^53 - 1).`, field);
  return v;
}

const invalid = (message: string, param?: string) =>
  new TollgateError('invalid_request', message, param === undefined ? {} : { param });
