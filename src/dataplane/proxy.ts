import type { FastifyReply, FastifyRequest } from 'fastify';
import { TollgateError } from '../errors.js';
import { UpstreamFailure, type Operation, type UpstreamResponse } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ConfigSnapshot } from '../snapshot/config-snapshot.js';
import { authenticateProject } from './authenticate.js';
import { isEventStream, relayBuffered, relayStream } from './relay.js';
import { readRequestFacts } from './request-body.js';

export interface DataPlaneDeps {
  snapshots: { readonly current: ConfigSnapshot };
  providers: ProviderRegistry;
}

export interface ProxyRoute {
  operation: Operation;
  /** Azure style: the deployment is in the path; OpenAI style: it is the body's `model`. */
  deploymentFromPath: boolean;
}

/** What one data-plane exchange did, for its log line (and, later, the request ledger). */
export interface ExchangeRecord {
  project?: string;
  gateway?: string;
  deployment?: string;
  operation: Operation;
  stream: boolean;
  status?: number;
  upstreamStatus?: number;
  upstreamMs?: number;
  outcome: 'ok' | 'rejected' | 'upstream_error' | 'client_aborted';
  errorCode?: string;
}

/**
 * The request path: authenticate → resolve the deployment → (reserve tokens) → forward → relay →
 * (settle). Reads only the in-memory config snapshot; never the database.
 */
export async function proxy(deps: DataPlaneDeps, route: ProxyRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const started = performance.now();
  const record: ExchangeRecord = { operation: route.operation, stream: false, outcome: 'ok' };
  const abort = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableEnded) abort.abort();
  };
  reply.raw.once('close', onClose);
  try {
    const project = authenticateProject(deps.snapshots.current, request.headers);
    record.project = project.name;
    record.gateway = project.gateway?.name;
    const facts = readRequestFacts(request.body, route.operation);
    record.stream = facts.stream;

    const deploymentName = route.deploymentFromPath ? (request.params as { deployment: string }).deployment : facts.model;
    if (!deploymentName) {
      throw new TollgateError('invalid_request', "'model' is required: set it to the name of a deployment.", { param: 'model' });
    }
    const deployment = project.deployments.get(deploymentName);
    if (!deployment) {
      const known = [...project.deployments.keys()].join(', ') || 'none';
      throw new TollgateError(
        'deployment_not_found',
        `The deployment "${deploymentName}" does not exist for project "${project.name}" (available: ${known}).`,
        { param: 'model' },
      );
    }
    record.deployment = deployment.name;
    const provider = deps.providers.get(deployment.provider);
    if (!provider || !provider.operations.has(route.operation)) {
      throw new TollgateError('invalid_request', `Deployment "${deployment.name}" (${deployment.provider}) does not support ${route.operation}.`);
    }

    // Token limits reserve here, before forwarding (token-limit issue).

    const upstreamStarted = performance.now();
    const upstream: UpstreamResponse = await provider.send({
      operation: route.operation,
      deployment,
      body: request.body as Record<string, unknown>,
      stream: facts.stream,
      clientApiVersion: apiVersionOf(request),
      requestId: request.id,
      signal: abort.signal,
    });
    record.upstreamStatus = upstream.status;
    if (upstream.status >= 400) record.outcome = 'upstream_error';

    if (facts.stream && isEventStream(upstream)) {
      await relayStream(reply, upstream);
    } else {
      await relayBuffered(reply, upstream);
    }
    record.upstreamMs = performance.now() - upstreamStarted;
    record.status = upstream.status;

    // Token limits settle here, on the upstream's usage (token-limit issue).
  } catch (err) {
    await fail(err, record, abort.signal, reply);
  } finally {
    reply.raw.off('close', onClose);
    request.log.info({ ...record, durationMs: round(performance.now() - started) }, 'proxied request');
  }
}

async function fail(err: unknown, record: ExchangeRecord, signal: AbortSignal, reply: FastifyReply): Promise<void> {
  if (signal.aborted) {
    record.outcome = 'client_aborted';
    if (!reply.raw.destroyed) reply.raw.destroy();
    return;
  }
  if (reply.sent || reply.raw.headersSent) {
    // Mid-stream failure: the status is already out; cut the stream so the client sees it broke.
    record.outcome = 'upstream_error';
    reply.raw.destroy();
    return;
  }
  let error: unknown = err;
  if (err instanceof UpstreamFailure) {
    error = new TollgateError(err.kind === 'timeout' ? 'upstream_timeout' : 'upstream_error', `${capitalize(err.message)}.`);
  }
  if (error instanceof TollgateError) {
    record.outcome = error.code.startsWith('upstream_') ? 'upstream_error' : 'rejected';
    record.errorCode = error.code;
    record.status = error.status;
  }
  throw error;
}

function apiVersionOf(request: FastifyRequest): string | null {
  const value = (request.query as Record<string, unknown> | undefined)?.['api-version'];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const round = (ms: number) => Math.round(ms * 100) / 100;
