import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { TollgateError } from '../errors.js';
import type { McpCallRecord } from './mcp-ledger.js';
import type { McpGrantRuntime } from './mcp-snapshot.js';
import { EventTooLarge, SseEventSplitter, eventData, withEventData } from './sse-events.js';
import { filterToolListText } from './tool-filter.js';

/*
 * How an MCP server's answer reaches the client: SSE event by event (tool lists filtered as each
 * event completes), JSON read whole and filtered; the response to the client's request is read
 * on the way for the call ledger.
 */

/** What relaying needs of the exchange: the client's request id and the record to complete. */
export interface RelayedExchange {
  readonly rpcId: string | number | null;
  readonly record: McpCallRecord;
}

/** One event of an upstream stream may be this large at most (or maxUpstreamBodyBytes, if lower). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/** An SSE answer, passed on event by event as each completes; tool lists filtered, the response to the request read. */
export async function relayEvents(
  limits: { maxUpstreamBodyBytes: number },
  res: ServerResponse,
  upstream: Dispatcher.ResponseData,
  headers: Record<string, string>,
  grant: McpGrantRuntime,
  x: RelayedExchange,
): Promise<void> {
  headers['cache-control'] = 'no-cache';
  res.writeHead(upstream.statusCode, headers);
  res.flushHeaders();
  const splitter = new SseEventSplitter(Math.min(MAX_EVENT_BYTES, limits.maxUpstreamBodyBytes));
  const pass = (event: string): string => {
    const data = eventData(event);
    if (data === null) return event;
    noteResponse(data, x);
    if (grant.tools === null) return event;
    const filtered = filterToolListText(data, grant.tools);
    return filtered === null ? event : withEventData(event, filtered);
  };
  try {
    for await (const chunk of upstream.body) {
      for (const event of splitter.push(chunk as Buffer)) if (!res.write(pass(event))) await drained(res);
    }
  } catch (err) {
    if (err instanceof EventTooLarge) throw new TollgateError('upstream_response_too_large', `The MCP server sent an event larger than ${err.limit} bytes.`);
    throw err;
  }
  const rest = splitter.flush();
  if (rest) res.write(pass(rest));
  res.end();
}

/** A JSON answer: read whole (bounded), its tool list filtered, the response to the request read. */
export async function relayJson(
  limits: { maxUpstreamBodyBytes: number },
  res: ServerResponse,
  upstream: Dispatcher.ResponseData,
  headers: Record<string, string>,
  grant: McpGrantRuntime,
  x: RelayedExchange,
): Promise<void> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of upstream.body) {
    length += (chunk as Buffer).length;
    if (length > limits.maxUpstreamBodyBytes) {
      throw new TollgateError('upstream_response_too_large', `The MCP server's answer is larger than ${limits.maxUpstreamBodyBytes} bytes.`);
    }
    chunks.push(chunk as Buffer);
  }
  let text = Buffer.concat(chunks).toString('utf8');
  noteResponse(text, x);
  if (grant.tools !== null) text = filterToolListText(text, grant.tools) ?? text;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(upstream.statusCode, headers);
  res.end(text);
}

/**
 * Resolves when the client can take more, or is gone (then the upstream body is aborted and the
 * relay loop ends): waiting for 'drain' alone would wait forever on a closed connection.
 */
export function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Records how the server answered the client's request: a JSON-RPC error, or a tool result flagged isError. */
function noteResponse(text: string, x: RelayedExchange): void {
  if (x.rpcId === null || (!text.includes('"error"') && !text.includes('"isError"'))) return;
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  if (message === null || typeof message !== 'object') return;
  const m = message as { id?: unknown; error?: { code?: unknown }; result?: { isError?: unknown } };
  if (m.id !== x.rpcId) return;
  if (m.error && typeof m.error === 'object') {
    x.record.outcome = 'upstream_error';
    x.record.errorCode = `jsonrpc_${String(m.error.code)}`;
  } else if (m.result?.isError === true) x.record.errorCode = 'tool_error';
}

