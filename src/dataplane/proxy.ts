import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DEFAULT_MAX_EVENT_BYTES, SseUsageTap } from '../accounting/sse-usage-tap.js';
import { completionTextOf, MAX_ANSWER_TOKENS, usageObjectOf, usageOf, type Usage } from '../accounting/usage.js';
import { TollgateError } from '../errors.js';
import type { Limiter } from '../limits/limiter.js';
import { Cancellation } from '../providers/cancellation.js';
import { UpstreamFailure, dialectOf, isMetered, type Operation, type UpstreamResponse } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ConfigSnapshot, DeploymentRuntime, ProjectRuntime } from '../snapshot/config-snapshot.js';
import { authenticateProject } from './authenticate.js';
import type { ExchangeObserver, ExchangeRecord } from './exchange-observer.js';
import { countedCompletion, estimatedPrompt, limitHeaders, reserveTokens, type GovernanceSettings, type TokenHold } from './governance.js';
import { isEventStream, readBody, relayStream, sendBuffered, sendError } from './relay.js';
import { readRequestFacts } from './request-body.js';
import type { DataPlaneRequest } from './http.js';

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
}

/** Content kept in the ledger is cut at this many characters per side. */
const CONTENT_LIMIT = 32_768;

/** One request's state on its way through the gateway. Not shared: one per request. */
class Exchange {
  readonly record: ExchangeRecord;
  deployment: DeploymentRuntime | null = null;
  /** The request as the client sent it: its prompt is estimated from it when no usage comes. */
  body: Record<string, unknown> | null = null;
  hold: TokenHold | null = null;
  tap: SseUsageTap | null = null;
  upstreamSent = false;
  private settled = false;

  /** Set when the gateway keeps content: the prompt side, captured before forwarding. */
  requestContent: unknown = undefined;

  constructor(
    private readonly limiter: Limiter,
    private readonly logger: Logger,
    operation: Operation,
    requestId: string,
  ) {
    this.record = { requestId, startedAtMs: Date.now(), durationMs: 0, operation, stream: false, outcome: 'ok' };
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

  /**
   * Records what the request used: the upstream's usage, or the tokens counted without it (the
   * prompt as the upstream reported it at the start of a stream, else as estimated, plus the
   * generated text counted). Either way prompt + completion = total.
   */
  consumed(usage: Usage | null, generatedText: string, reportedPrompt: number | null = null): number {
    const r = this.record;
    if (usage) {
      if (usage.capped) {
        this.logger.warn(
          { reqId: r.requestId, deployment: r.deployment, prompt: usage.prompt, completion: usage.completion, bound: MAX_ANSWER_TOKENS },
          'upstream reported more tokens than any answer can use; counted as the bound',
        );
      }
      r.promptTokens = usage.prompt;
      r.completionTokens = usage.completion;
      r.totalTokens = usage.total;
    } else {
      r.promptTokens = reportedPrompt ?? this.promptEstimate();
      r.completionTokens = countedCompletion(generatedText, this.deployment!);
      r.totalTokens = r.promptTokens + r.completionTokens;
    }
    return r.totalTokens;
  }

  /**
   * The prompt estimate of the reservation; without one (no limit applies) estimated now: only
   * requests that got no usage pay for the tokenizer, the common path never does.
   */
  private promptEstimate(): number {
    if (this.hold) return this.hold.promptEstimate;
    if (!this.body || !this.deployment) return 0;
    return estimatedPrompt(this.record.operation, this.body, this.deployment);
  }

  /** What a stream used so far: its final usage, or its reported prompt and the text seen. */
  consumedByStream(tap: SseUsageTap): number {
    return this.consumed(tap.usage, tap.generatedText(), tap.promptTokens);
  }

  /** Settles the reservation to what was used, or releases it in full (null). At most once. */
  async settle(used: number | null): Promise<void> {
    if (!this.hold || this.settled) return;
    this.settled = true;
    if (used === null) await this.limiter.release(this.hold.reservation);
    else await this.limiter.settle(this.hold.reservation, used);
  }
}

/**
 * The request path: authenticate → resolve the deployment → reserve tokens → forward → relay →
 * settle. Reads only the in-memory config snapshot and the limiter; never the database.
 */
export async function proxy(deps: DataPlaneDeps, request: DataPlaneRequest, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const x = new Exchange(deps.limiter, deps.logger, request.operation, request.id);
  const cancellation = new Cancellation();
  const onClose = () => {
    if (!res.writableEnded) cancellation.cancel();
  };
  res.on('close', onClose); // removed below: no once() wrapper needed
  try {
    await forward(deps, request, res, x, cancellation);
  } catch (err) {
    const error = await fail(err, x, cancellation, res);
    if (error) sendError(res, request.id, error, dialectOf(request.operation));
  } finally {
    res.off('close', onClose);
    await x.settle(null); // never leak a reservation: anything not settled by now is returned
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
  if (project.gateway?.logContent) x.requestContent = request.body;
  const operation = request.operation;
  const facts = readRequestFacts(request.body, operation);
  record.stream = facts.stream;
  const deployment = resolveDeployment(request, project, facts.model);
  x.deployment = deployment;
  record.deployment = deployment.name;
  const provider = deps.providers.get(deployment.provider);
  if (!provider || !provider.operations.has(operation)) {
    throw new TollgateError('invalid_request', `Deployment "${deployment.name}" (${deployment.provider}) does not support ${operation}.`);
  }

  // Reserve before forwarding: concurrent requests must not all see the same remaining budget.
  const body = request.body as Record<string, unknown>;
  x.body = body;
  x.hold = await reserveTokens(deps.limiter, deps.governance, project, deployment, operation, body, facts);
  record.reservedTokens = x.hold?.reserved;

  const { upstreamBody, upstreamText, stripUsageChunk } = withStreamUsage(operation, body, request.text, facts.stream);
  const upstreamStarted = performance.now();
  x.upstreamSent = true;
  const upstream: UpstreamResponse = await provider.send({
    operation,
    deployment,
    body: upstreamBody,
    bodyText: upstreamText,
    stream: facts.stream,
    clientApiVersion: request.apiVersion,
    requestId: request.id,
    clientHeaders: request.headers,
    cancellation,
  });
  record.upstreamStatus = upstream.status;

  if (upstream.status < 400 && facts.stream && isEventStream(upstream)) {
    x.tap = new SseUsageTap(operation, stripUsageChunk, Math.min(deps.maxUpstreamBodyBytes, DEFAULT_MAX_EVENT_BYTES));
    await relayStream(res, request.id, upstream, x.tap, x.hold ? limitHeaders(x.hold, null) : {});
    await x.settle(x.consumedByStream(x.tap));
  } else {
    const raw = await readBody(upstream, deps.maxUpstreamBodyBytes);
    let consumed: number | null = null;
    if (upstream.status >= 400) {
      record.outcome = 'upstream_error'; // a failed call releases its reservation in full
    } else if (isMetered(operation)) {
      // The usage sits at the end of the answer: read just that; parse it all only without one.
      const usage = usageOf(operation, usageObjectOf(raw));
      consumed = x.consumed(usage, usage ? '' : completionTextOf(operation, parseJson(raw.toString('utf8'))));
    }
    if (x.keepsContent) x.keepContent(raw.toString('utf8'));
    // Settle before answering, so the headers and the very next request see the real count.
    await x.settle(consumed);
    const headers = x.hold ? limitHeaders(x.hold, consumed) : consumed === null ? {} : { 'x-tokens-consumed': String(consumed) };
    sendBuffered(res, request.id, upstream, raw, headers);
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
    if (x.tap) await x.settle(x.consumedByStream(x.tap));
    else if (x.upstreamSent && isMetered(record.operation)) await x.settle(x.consumed(null, ''));
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
    if (x.hold && answered) await x.settle(x.consumed(null, ''));
  }
  if (error instanceof TollgateError) {
    record.errorCode = error.code;
    record.status = error.status;
    record.outcome =
      error.code === 'token_rate_limit_exceeded'
        ? 'rate_limited'
        : error.code === 'token_quota_exceeded'
          ? 'quota_exceeded'
          : error.code.startsWith('upstream_')
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
 * Streams are counted exactly: the upstream is asked to report usage at the end of the stream;
 * if the client did not ask for that chunk itself, the tap removes it on the way back. The text
 * sent upstream is the client's own, with the option appended when the client did not set
 * `stream_options` at all (the usual case): a long prompt is not re-serialised.
 */
function withStreamUsage(
  operation: Operation,
  body: Record<string, unknown>,
  text: string | null,
  stream: boolean,
): { upstreamBody: Record<string, unknown>; upstreamText: string | null; stripUsageChunk: boolean } {
  if (!stream || (operation !== 'chat.completions' && operation !== 'completions')) {
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
