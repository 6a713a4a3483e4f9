import type { CountBudget, Encoding } from '../accounting/count.js';
import type { Usage } from '../accounting/usage.js';

/**
 * The data-plane operations, named in the vocabulary of the API the client speaks: OpenAI's four,
 * and Anthropic's Messages API with its token counting.
 */
export type Operation = OpenAIOperation | AnthropicOperation;
export type OpenAIOperation = 'chat.completions' | 'completions' | 'embeddings' | 'responses';
export type AnthropicOperation = 'messages' | 'messages.count_tokens';

/** The API family a client speaks: it decides the shape of bodies, streams and errors. */
export type Dialect = 'openai' | 'anthropic';

/** The request's encoding and its counting budget, passed to every text counted. */
export interface Counting {
  readonly encoding: Encoding;
  readonly budget: CountBudget;
}

/** What a stream observer reads and writes on its stream's tap (see SseUsageTap). */
export interface StreamState {
  /** The stream's final usage, once the upstream has reported it. */
  usage: Usage | null;
  /** The prompt tokens, when the upstream reports them before the end (Anthropic's message_start). */
  promptTokens: number | null;
  /** The usage reported at the start of a stream, to fill the gaps of the final one. */
  startUsage: Record<string, unknown> | null;
  /** Drop the usage-only chunk: the gateway asked for it, the client did not. */
  readonly stripUsageChunk: boolean;
  addText(text: string): void;
}

/** How one operation's stream events are read. Stateless: the state is the tap's. */
export interface StreamObserver {
  /**
   * The text of an event that carries one text delta and nothing else, found without parsing it;
   * null when the event may hold more (it is then parsed). Absent: every event is parsed.
   */
  readonly plainText?: (payload: string) => string | null;
  /** Reads one parsed event; returns true when it is the usage chunk to strip. */
  event(event: Record<string, unknown>, state: StreamState): boolean;
}

/**
 * Everything the gateway knows of one API operation. Shared code calls the spec and never asks
 * which operation it is: adding an operation is one spec file and one line in the registry.
 * Specs are module-level constants: nothing here is built per request.
 */
export interface OperationSpec {
  readonly name: Operation;
  readonly dialect: Dialect;
  /** Whether the operation uses tokens: counting them (Anthropic's count_tokens) is free and unlimited. */
  readonly metered: boolean;
  /** Where clients send it (POST). Absent: not served in that style. */
  readonly routes: {
    /** Under `/openai/v1` (OpenAI style, the deployment is the body's `model`). */
    readonly openai?: string;
    /**
     * Under `/openai/deployments/{deployment}` (Azure style, the deployment in the path) and
     * under `/openai` (Azure style with `?api-version=…`, the deployment in the body's `model`).
     */
    readonly azure?: string;
    /** Under `/anthropic/v1`. */
    readonly anthropic?: string;
  };
  /** The upstream API's path for it, below the API's base (`/v1` of OpenAI or Anthropic). */
  readonly upstreamPath: string;
  /**
   * How Azure OpenAI serves it: by the deployment in the path (`/openai/deployments/{d}/…`), or on
   * its v1 surface (`/openai/v1/…`, the deployment as `model`); null when Azure does not.
   */
  readonly azureUpstream: 'deployment' | 'v1' | null;
  /** The body field the operation cannot do without, and its type check. */
  readonly required: { readonly field: string; readonly what: string; accepts(value: unknown): boolean };
  /** The prompt tokens of a request body, with the deployment's tokenizer. */
  estimatePrompt(body: Record<string, unknown>, counting: Counting): number;
  /** Whether a completion is reserved on top of the prompt (embeddings generate none). */
  readonly reservesCompletion: boolean;
  /**
   * The body field that bounds the completion upstream: the gateway sets it when it caps a
   * request that named no maximum to what its limits can hold (token-hold.ts). Null: none.
   */
  readonly outputCapField: 'max_tokens' | 'max_completion_tokens' | 'max_output_tokens' | null;
  /** Whether a stream reports usage only when asked with `stream_options.include_usage`. */
  readonly streamUsageOption: boolean;
  /** The usage of an answer (or of its final stream event), null when none can be trusted. */
  usage(payload: unknown): Usage | null;
  /** The generated text of a non-streamed answer, to count when no usage came. */
  completionText(payload: unknown): string;
  readonly stream: StreamObserver;
}
