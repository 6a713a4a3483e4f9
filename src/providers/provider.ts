import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderName } from '../domain/model.js';
import type { DeploymentRuntime } from '../snapshot/config-snapshot.js';
import type { Cancellation } from './cancellation.js';

import type { Operation } from '../operations/operation.js';

// The operations and their facts live in src/operations/ (one spec per operation).
export type { AnthropicOperation, Dialect, OpenAIOperation, Operation } from '../operations/operation.js';

/** One request to forward, as the data plane has validated and prepared it. */
export interface UpstreamCall {
  readonly operation: Operation;
  readonly deployment: DeploymentRuntime;
  /** The client's JSON body, possibly amended by the data plane (e.g. stream_options). */
  readonly body: Record<string, unknown>;
  /** The body exactly as the client sent it, when `body` is unchanged: forward it as is. */
  readonly bodyText: string | null;
  /**
   * Set when the gateway bounded the completion (the request named no maximum and its limits hold
   * less than the default): `body` carries it in the operation's outputCapField.
   */
  readonly outputCap?: number | null;
  readonly stream: boolean;
  /** api-version the client sent (Azure style), used when the deployment sets none. */
  readonly clientApiVersion: string | null;
  readonly requestId: string;
  /** The client's request headers: a provider forwards the few its API defines (anthropic-version...). */
  readonly clientHeaders: IncomingHttpHeaders;
  /** Cancelled when the client goes away or the gateway gives up. */
  readonly cancellation: Cancellation;
}

/** The upstream's answer once its headers are in; the body streams. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * JSON in the operation's dialect, or an SSE stream of its events when the call streams, as
   * the chunks arrive. A consumer that stops iterating early must call `return()` (for await does).
   */
  readonly body: UpstreamBody;
}

/** A response body: its chunks as they arrive. */
export interface UpstreamBody extends AsyncIterable<Buffer> {
  /**
   * The whole body at once, when the transport can gather it cheaper than iteration does. Past
   * `maxBytes` it stops reading the upstream and rejects with UpstreamFailure('too_large').
   */
  collect?(maxBytes?: number): Promise<Buffer>;
}

/** Deployment settings a provider checks when an admin creates or edits a deployment. */
export interface DeploymentSettings {
  upstreamUrl: string | null;
  upstreamModel: string | null;
  hasUpstreamApiKey: boolean;
  apiVersion: string | null;
  options: Record<string, unknown>;
}

/**
 * A deployment setting a provider refuses: the request field at fault (so a form can show the
 * message next to it) and a message a person can act on, which names the field.
 */
export interface SettingProblem {
  field: string;
  message: string;
}

/**
 * One model provider. Shared code never branches on provider names: everything that differs
 * between providers (URL layout, auth header, options) lives behind this interface.
 */
export interface Provider {
  readonly name: ProviderName;
  readonly operations: ReadonlySet<Operation>;
  /** The first problem with the settings, or null when they are usable. */
  validate(settings: DeploymentSettings): SettingProblem | null;
  /** Sends the call; resolves once the upstream's status and headers are in. */
  send(call: UpstreamCall): Promise<UpstreamResponse>;
}

/** The failure of an answer larger than the gateway accepts. */
export function tooLarge(what: string, maxBytes: number): UpstreamFailure {
  return new UpstreamFailure('too_large', `the upstream sent ${what} larger than the limit of ${maxBytes} bytes (TOLLGATE_MAX_UPSTREAM_BODY_BYTES)`);
}

/** Thrown by providers for transport failures, mapped to 502/504 by the data plane. */
export class UpstreamFailure extends Error {
  constructor(
    /** too_large: the answer (or one event of a stream) is over the gateway's bound. */
    readonly kind: 'unreachable' | 'timeout' | 'too_large',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UpstreamFailure';
  }
}
