import { CountBudget, type Encoding } from '../accounting/count.js';
import type { Usage } from '../accounting/usage.js';
import { chatCompletions } from './chat-completions.js';
import { completions } from './completions.js';
import { countTokens } from './count-tokens.js';
import { embeddings } from './embeddings.js';
import { messages } from './messages.js';
import type { Operation, OperationSpec } from './operation.js';
import { responses } from './responses.js';

/** Every operation the data plane serves: adding one is its spec file and one line here. */
export const OPERATIONS: readonly OperationSpec[] = [chatCompletions, completions, embeddings, responses, messages, countTokens];

const BY_NAME: ReadonlyMap<Operation, OperationSpec> = new Map(OPERATIONS.map((spec) => [spec.name, spec]));

/** The spec of an operation by its name, or undefined for a name no spec has. */
export function findOperationSpec(name: string): OperationSpec | undefined {
  return BY_NAME.get(name as Operation);
}

/** The spec of an operation by its name (as a ledger row or an UpstreamCall names it). */
export function operationSpec(name: Operation): OperationSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`unknown operation ${String(name)}`);
  return spec;
}

/** Where clients send operations, built once from the specs. */
export interface RouteTable {
  /** Exact POST paths: `/openai/v1/…`, `/openai/…` (Azure with api-version), `/anthropic/v1/…`. */
  readonly exact: ReadonlyMap<string, OperationSpec>;
  /** What follows `/openai/deployments/{deployment}` in Azure-style paths. */
  readonly azureDeployment: ReadonlyMap<string, OperationSpec>;
}

export const AZURE_DEPLOYMENT_PREFIX = '/openai/deployments/';

export function buildRoutes(specs: readonly OperationSpec[] = OPERATIONS): RouteTable {
  const exact = new Map<string, OperationSpec>();
  const azureDeployment = new Map<string, OperationSpec>();
  const add = (path: string, spec: OperationSpec) => {
    if (exact.has(path)) throw new Error(`two operations claim POST ${path}`);
    exact.set(path, spec);
  };
  for (const spec of specs) {
    const { openai, azure, anthropic } = spec.routes;
    if (openai !== undefined) add(`/openai/v1${openai}`, spec);
    if (azure !== undefined) {
      add(`/openai${azure}`, spec);
      azureDeployment.set(azure, spec);
    }
    if (anthropic !== undefined) add(`/anthropic/v1${anthropic}`, spec);
  }
  return { exact, azureDeployment };
}

/** The operations a provider serves, from a property of their specs. */
export function operationsWhere(test: (spec: OperationSpec) => boolean): ReadonlySet<Operation> {
  return new Set(OPERATIONS.filter(test).map((spec) => spec.name));
}

/**
 * Estimates the prompt tokens of a request before it is forwarded, with the deployment's
 * tokenizer: message text, names, tool calls and tool definitions, images at a fixed estimate.
 *
 * All the texts of one request share one counting budget (see CountBudget): however large the
 * request, its counting holds the event loop ~10 ms at most. Past the budget the rest is bounded
 * by its UTF-8 length, never below the real count, so a huge prompt is over-reserved rather than
 * under-reserved; settlement corrects to the upstream's usage.
 */
export function estimatePromptTokens(operation: Operation, body: Record<string, unknown>, encoding: Encoding, budget: CountBudget = new CountBudget()): number {
  return operationSpec(operation).estimatePrompt(body, { encoding, budget });
}

/** The usage in an upstream JSON object, read the operation's way (see OperationSpec.usage). */
export function usageOf(operation: Operation, payload: unknown): Usage | null {
  return operationSpec(operation).usage(payload);
}

/** Generated text of a non-streamed answer, to count when the upstream reports no usage. */
export function completionTextOf(operation: Operation, payload: unknown): string {
  return operationSpec(operation).completionText(payload);
}
