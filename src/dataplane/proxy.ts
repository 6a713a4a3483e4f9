import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULT_MAX_EVENT_BYTES, SseUsageTap } from '../accounting/sse-usage-tap.js';
import { usageObjectOf } from '../accounting/usage.js';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import type { OperationSpec } from '../operations/operation.js';
import { Cancellation } from '../providers/cancellation.js';
import { UpstreamFailure, type Provider, type UpstreamCall, type UpstreamResponse } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ConfigSnapshot, DeploymentRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';
import { authenticateProject } from './authenticate.js';
import type { ExchangeObserver, ExchangeRecord } from './exchange-observer.js';
import type { DataPlaneRequest } from './data-plane-request.js';
import type { GovernanceSettings } from './governance.js';
import { isEventStream, readBody, relayStream, sendBuffered, sendError } from './relay.js';
import { readRequestFacts } from './request-body.js';
import { reserveTokens, type TokenHold } from './token-hold.js';
import { BackendPicker } from './backends/backend-picker.js';
import { MemoryBreakerStates } from './backends/circuit-breaker.js';
import { sendToPool } from './backends/failover.js';

export interface DataPlaneDeps {
  snapshots: { readonly current: ConfigSnapshot };
  providers: ProviderRegistry;
  limiter: Limiter;
  governance: GovernanceSettings;
  /** The ledger and the metrics; told about every exchange once it is over. */
  observers: readonly ExchangeObserver[];
  /** Gets one line per proxied request at level info. */
  logger: Logger;
  /** An upstream answer (or one event of a stream) larger than this fails with 502 upstream_response_too_large. */
  maxUpstreamBodyBytes: number;
  /** Chooses among a deployment's backends and keeps their breakers; one per node. */
  backends?: BackendPicker;
}

/** A one-upstream deployment: called once; counted as a one-backend pool named after the deployment. */
async function sendOne(picker: BackendPicker, provider: Provider, call: Omit<UpstreamCall, 'deployment'>, deployment: DeploymentRuntime): Promise<UpstreamResponse> {
  try {
    const upstream = await provider.send({ ...call, deployment });
    picker.traffic.count(deployment.id, deployment.name, deployment.name, upstream.status === 429 || upstream.status >= 500 ? 'error' : 'ok');
    return upstream;
  } catch (err) {
    picker.traffic.count(deployment.id, deployment.name, deployment.name, 'error');
    throw err;
  }
}

/** For data planes built without one (tests): a picker of their own, with in-memory breakers. */
const fallbackPickers = new WeakMap<DataPlaneDeps, BackendPicker>();
function pickerOf(deps: DataPlaneDeps): BackendPicker {
  if (deps.backends) return deps.backends;
  let picker = fallbackPickers.get(deps);
  if (!picker) fallbackPickers.set(deps, (picker = new BackendPicker(new MemoryBreakerStates())));
  return picker;
}

/** Content kept in the ledger is cut at this many characters per side. */
const CONTENT_LIMIT = 32_768;

/** One request's state on its way through the gateway. Not shared: one per request. */
class Exchange {
  readonly record: ExchangeRecord;
  /** The request's tokens, once reserved (see token-hold.ts). */
  hold: TokenHold | null = null;
  tap: SseUsageTap | null = null;
  upstreamSent = false;

  /** Set when the gateway keeps content: the prompt side, captured before forwarding. */
  requestContent: unknown = undefined;

  constructor(
    readonly spec: OperationSpec,
    requestId: string,
  ) {
    this.record = { requestId, startedAtMs: Date.now(), durationMs: 0, operation: spec.name, stream: false, outcome: 'ok' };
  }

  /** Whether the ledger keeps this exchange's content (the gateway's logContent). */
  get keepsContent(): boolean {
    return this.requestContent !== undefined;
  }

  /** Never throws: keeping content must not cost a request its charge or its ledger row. */
  keepContent(responseText: string): void {
    if (this.requestContent === undefined) return;
    let request: string;
    try {
      request = truncate(JSON.stringify(this.requestContent));
    } catch (err) {
      request = `[not kept: ${(err as Error).message}]`;
    }
    this.record.content = JSON.stringify({ request, response: truncate(responseText) });
  }
}

/**
 * The request path: authenticate → resolve the deployment → reserve tokens → forward → relay →
 * settle. Reads only the in-memory config snapshot and the limiter; never the database.
 */
export async function proxy(deps: DataPlaneDeps, request: DataPlaneRequest, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const spec = request.spec;
  const x = new Exchange(spec, request.id);
  const cancellation = new Cancellation();
  const onClose = () => {
    if (!res.writableEnded) cancellation.cancel();
  };
  res.on('close', onClose); // removed below: no once() wrapper needed
  try {
    await forward(deps, request, res, x, cancellation);
  } catch (err) {
    const error = await fail(err, x, cancellation, res);
    if (error) sendError(res, request.id, error, spec.dialect);
  } finally {
    res.off('close', onClose);
    await x.hold?.release(); // never leak a reservation: anything not settled by now is returned
    const record = x.record;
    record.durationMs = round(performance.now() - started);
    if (record.status === undefined) record.status = record.outcome === 'client_aborted' ? 499 : (record.upstreamStatus ?? 502);
    if (x.tap && x.keepsContent) x.keepContent(x.tap.generatedText());
    for (const observer of deps.observers) observer.exchangeFinished(record);
    if (deps.logger.isLevelEnabled('info')) {
      const { content: _content, ...line } = record;
      deps.logger.info({ reqId: request.id, ...line }, 'proxied request');
    }
  }
}

async function forward(
  deps: DataPlaneDeps,
  request: DataPlaneRequest,
  res: ServerResponse,
  x: Exchange,
  cancellation: Cancellation,
): Promise<void> {
  const record = x.record;
  const project = request.project ?? authenticateProject(deps.snapshots.current, request.headers);
  record.project = project.name;
  record.gateway = project.gateway?.name;
  record.gatewayId = project.gateway?.id;
  if (project.gateway?.logContent) x.requestContent = request.body;
  const spec = request.spec;
  const operation = spec.name;
  const facts = readRequestFacts(request.body, spec);
  record.stream = facts.stream;
  const deployment = resolveDeployment(request, project, facts.model);
  record.deployment = deployment.name;
  const provider = deps.providers.get(deployment.provider);
  if (!provider || !provider.operations.has(operation)) {
    throw new TollgateError('invalid_request', `Deployment "${deployment.name}" (${deployment.provider}) does not support ${operation}.`);
  }

  // Reserve before forwarding: concurrent requests must not all see the same remaining budget.
  const body = request.body as Record<string, unknown>;
  const hold = await reserveTokens(deps, project, deployment, spec, body, facts, record);
  x.hold = hold;
  record.reservedTokens = hold.reserved;

  const capped = withOutputCap(spec, body, request.text, hold.outputCap);
  const { upstreamBody, upstreamText, stripUsageChunk } = withStreamUsage(spec, capped.body, capped.text, facts.stream);
  const upstreamStarted = performance.now();
  x.upstreamSent = true;
  const call = {
    operation,
    body: upstreamBody,
    bodyText: upstreamText,
    outputCap: hold.outputCap,
    stream: facts.stream,
    clientApiVersion: request.apiVersion,
    requestId: request.id,
    clientHeaders: request.headers,
    cancellation,
  };
  // A pool fails over among its backends before relaying; a single upstream is called once.
  const upstream: UpstreamResponse = deployment.pool
    ? await sendToPool(deps.providers, pickerOf(deps), deployment.pool, call, record)
    : await sendOne(pickerOf(deps), provider, call, deployment);
  record.upstreamStatus = upstream.status;

  if (upstream.status < 400 && facts.stream && isEventStream(upstream)) {
    x.tap = new SseUsageTap(operation, stripUsageChunk, Math.min(deps.maxUpstreamBodyBytes, DEFAULT_MAX_EVENT_BYTES));
    await relayStream(res, request.id, upstream, x.tap, hold.headers());
    await hold.settleStream(x.tap);
  } else {
    const raw = await readBody(upstream, deps.maxUpstreamBodyBytes);
    const settled = upstream.status >= 400 ? null : settleAnswer(spec, hold, raw);
    if (upstream.status >= 400) record.outcome = 'upstream_error'; // a failed call releases its reservation in full
    if (x.keepsContent) x.keepContent(raw.toString('utf8'));
    // Settle before answering, so the headers and the very next request see the real count.
    await (settled ?? hold.release());
    sendBuffered(res, request.id, upstream, raw, hold.headers());
  }
  record.upstreamMs = round(performance.now() - upstreamStarted);
  record.status = upstream.status;
}

/**
 * Records how the exchange failed and settles what it used; returns the error to answer with, or
 * null when there is nobody to answer (the client left) or the answer has begun (a broken stream).
 */
async function fail(err: unknown, x: Exchange, cancellation: Cancellation, res: ServerResponse): Promise<TollgateError | null> {
  const record = x.record;
  const upstreamFailure = err instanceof UpstreamFailure ? err : null;
  if (cancellation.cancelled || res.headersSent) {
    record.outcome = cancellation.cancelled ? 'client_aborted' : 'upstream_error';
    // A broken stream keeps the status its client got; the code says what broke it (a reset, a stall).
    if (!cancellation.cancelled && upstreamFailure) record.errorCode = failureCode(upstreamFailure);
    // The client left, or the upstream broke mid-stream: charge what was generated up to now.
    // Without a stream to count, the upstream at least processed the prompt.
    if (x.tap) await x.hold?.settleStream(x.tap);
    else if (x.upstreamSent && x.spec.metered && x.hold) await x.hold.chargePrompt();
    if (!res.destroyed) res.destroy();
    return null;
  }
  let error: unknown = err;
  if (upstreamFailure) {
    error = new TollgateError(failureCode(upstreamFailure), `${capitalize(upstreamFailure.message)}.`);
    // The upstream began a successful answer and broke off (or stalled) in its body: the client gets
    // nothing usable, but the upstream has processed, and likely billed, the prompt. Charged as for
    // any call the upstream worked on before it ended early (a client that leaves a non-streamed
    // call, a broken stream): what is known to be used — here the prompt, no completion, since
    // none was delivered. A call that failed before any answer is released in full, as before.
    const answered = record.upstreamStatus !== undefined && record.upstreamStatus < 400;
    if (x.hold?.holdsReservation && answered) await x.hold.chargePrompt();
  }
  if (error instanceof TollgateError) {
    record.errorCode = error.code;
    record.status = error.status;
    record.message = error.message;
    record.outcome = record.refusal?.neverFits
      ? 'never_fits'
      : error.code === 'token_rate_limit_exceeded'
        ? 'rate_limited'
        : error.code === 'token_quota_exceeded' || error.code === 'budget_exceeded'
          ? 'quota_exceeded'
          : error.code.startsWith('upstream_') || error.code === 'backends_unavailable'
            ? 'upstream_error'
            : 'rejected';
    return error;
  }
  throw error; // unexpected: answered as an internal error
}

const FAILURE_CODE = { timeout: 'upstream_timeout', unreachable: 'upstream_error', too_large: 'upstream_response_too_large' } as const;
const failureCode = (failure: UpstreamFailure) => FAILURE_CODE[failure.kind];

function resolveDeployment(request: DataPlaneRequest, project: ProjectRuntime, model: string | null): DeploymentRuntime {
  const name = request.pathDeployment ?? model;
  if (!name) throw new TollgateError('invalid_request', "'model' is required: set it to the name of a deployment.", { param: 'model' });
  const deployment = project.deployments.get(name);
  if (!deployment) {
    const known = [...project.deployments.keys()].join(', ') || 'none';
    throw new TollgateError(
      'deployment_not_found',
      `The deployment "${name}" does not exist for project "${project.name}" (available: ${known}).`,
      { param: 'model' },
    );
  }
  return deployment;
}

/**
 * Settles a metered, successful, buffered answer: to its usage, or to its text counted. The usage
 * sits at the end of the answer: read just that; parse it all only without one. Null when the
 * operation is not metered (its hold is released).
 */
function settleAnswer(spec: OperationSpec, hold: TokenHold, raw: Buffer): Promise<void> | null {
  if (!spec.metered) return null;
  const usage = spec.usage(usageObjectOf(raw));
  return usage ? hold.settle(usage) : hold.settleCounted(spec.completionText(parseJson(raw.toString('utf8'))));
}

/**
 * The body with the completion bounded to `cap` in the operation's own field (the request named
 * none: see reserveTokens). The client's text is kept, the field appended, when it lacks the field.
 */
function withOutputCap(
  spec: OperationSpec,
  body: Record<string, unknown>,
  text: string | null,
  cap: number | null,
): { body: Record<string, unknown>; text: string | null } {
  const field = spec.outputCapField;
  if (cap === null || field === null) return { body, text };
  return {
    body: { ...body, [field]: cap },
    text: text !== null && !(field in body) ? appendField(text, field, cap) : null,
  };
}

/**
 * Streams are counted exactly: the upstream is asked to report usage at the end of the stream;
 * if the client did not ask for that chunk itself, the tap removes it on the way back. The text
 * sent upstream is the client's own, with the option appended when the client did not set
 * `stream_options` at all (the usual case): a long prompt is not re-serialised.
 */
function withStreamUsage(
  spec: OperationSpec,
  body: Record<string, unknown>,
  text: string | null,
  stream: boolean,
): { upstreamBody: Record<string, unknown>; upstreamText: string | null; stripUsageChunk: boolean } {
  if (!stream || !spec.streamUsageOption) {
    return { upstreamBody: body, upstreamText: text, stripUsageChunk: false };
  }
  const options = body.stream_options;
  const given = options !== null && typeof options === 'object' ? (options as Record<string, unknown>) : {};
  if (given.include_usage === true) return { upstreamBody: body, upstreamText: text, stripUsageChunk: false };
  return {
    upstreamBody: { ...body, stream_options: { ...given, include_usage: true } },
    upstreamText: options === undefined && text !== null ? appendField(text, 'stream_options', INCLUDE_USAGE) : null,
    stripUsageChunk: true,
  };
}

const INCLUDE_USAGE = { include_usage: true };

/**
 * The JSON object `text` with one more top-level field, which it must not have yet: inserted
 * before the closing brace, the rest left byte for byte. Null when `text` is not an object's text.
 */
export function appendField(text: string, name: string, value: unknown): string | null {
  let end = text.length - 1;
  while (end >= 0 && (text[end] === ' ' || text[end] === '\n' || text[end] === '\r' || text[end] === '\t')) end--;
  if (end < 1 || text[end] !== '}') return null;
  let last = end - 1;
  while (last >= 0 && (text[last] === ' ' || text[last] === '\n' || text[last] === '\r' || text[last] === '\t')) last--;
  const empty = text[last] === '{';
  return `${text.slice(0, end)}${empty ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const truncate = (text: string) => (text.length > CONTENT_LIMIT ? `${text.slice(0, CONTENT_LIMIT)}…[truncated]` : text);
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const round = (ms: number) => Math.round(ms * 100) / 100;
