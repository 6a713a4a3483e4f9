import type { Operation, Provider, UpstreamCall, UpstreamResponse } from '../provider.js';
import { chatCompletion } from './chat.js';
import { textCompletion } from './completions.js';
import { delay } from './delay.js';
import { createEmbeddings } from './embeddings.js';
import { anthropicMessage, countMessageTokens } from './messages.js';
import { parseOptions, type SimulatedOptions } from './options.js';
import { errorReply } from './reply.js';
import { InvalidRequest, isPlainObject } from './request.js';
import { createResponse } from './responses.js';

type Handler = (call: UpstreamCall, options: SimulatedOptions) => UpstreamResponse;

/** The simulated model's answer to each operation it serves: its own data, registered here. */
const HANDLERS: ReadonlyMap<Operation, Handler> = new Map<Operation, Handler>([
  ['chat.completions', chatCompletion],
  ['completions', textCompletion],
  ['embeddings', createEmbeddings],
  ['responses', createResponse],
  ['messages', anthropicMessage],
  ['messages.count_tokens', countMessageTokens],
]);

async function send(call: UpstreamCall): Promise<UpstreamResponse> {
  const parsed = parseOptions(call.deployment.options);
  if (!parsed.ok) {
    // validate() keeps bad options out of the store; this guards hand-built deployments.
    return errorReply(call.operation, 500, {
      message: `simulated deployment '${call.deployment.name}': ${parsed.message}`,
      type: 'api_error',
      code: 'invalid_simulated_options',
    });
  }
  const { options } = parsed;
  // The signal is made only when needed: most calls are neither delayed nor cancelled.
  if (options.latencyMs > 0 || call.cancellation.cancelled) await delay(options.latencyMs, call.cancellation.signal);
  if (options.failWithStatus !== undefined) {
    return errorReply(call.operation, options.failWithStatus, {
      message: 'simulated failure',
      type: 'api_error',
      code: 'simulated_failure',
    });
  }
  const handler = HANDLERS.get(call.operation);
  if (handler === undefined) {
    return errorReply(call.operation, 404, {
      message: `the simulated model does not serve '${String(call.operation)}'`,
      type: 'invalid_request_error',
      param: null,
      code: 'unknown_operation',
    });
  }
  try {
    if (!isPlainObject(call.body)) throw new InvalidRequest('the request body must be a JSON object', null);
    return handler(call, options);
  } catch (error) {
    if (!(error instanceof InvalidRequest)) throw error;
    return errorReply(call.operation, 400, { message: error.message, type: 'invalid_request_error', param: error.param, code: null });
  }
}

/** The built-in deterministic local model: no network I/O, answers produced in-process. */
export function createSimulatedProvider(): Provider {
  return {
    name: 'simulated',
    operations: new Set<Operation>(HANDLERS.keys()),
    validate(settings) {
      const parsed = parseOptions(settings.options);
      return parsed.ok ? null : { field: parsed.field, message: parsed.message };
    },
    send,
  };
}
