import type { Operation, StreamObserver, StreamState } from '../operations/operation.js';
import { operationSpec } from '../operations/registry.js';
import { tooLarge } from '../providers/provider.js';
import type { Usage } from './usage.js';

export { plainContentDelta, plainTextDelta } from './stream-observers.js';

/** One event of a stream is rarely more than a few KiB; a tool call's arguments may come whole. */
export const DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024;

const LF_LF = Buffer.from('\n\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/**
 * Watches an SSE stream on its way to the client: records the usage the upstream reports and the
 * generated text (to count when no usage comes, e.g. the client left mid-stream), and can drop
 * the usage-only chunk the gateway asked for on the client's behalf.
 *
 * Bytes are forwarded as they are, event by event: complete events go out at once, a partial one
 * waits for its end. Not thread-safe: one tap per stream.
 */
export class SseUsageTap implements StreamState {
  /** The stream's final usage, once the upstream has reported it. */
  usage: Usage | null = null;
  /** The prompt tokens, when the upstream reports them before the end (Anthropic's message_start). */
  promptTokens: number | null = null;
  startUsage: Record<string, unknown> | null = null;
  /** How this operation's events are read (its spec's stream observer). */
  private readonly observer: StreamObserver;
  private readonly text: string[] = [];
  /** The start of an event whose end has not come yet, in the pieces it came in. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    operation: Operation,
    /** Drop the final `choices: []` usage chunk: the client did not ask for it. */
    readonly stripUsageChunk: boolean,
    /** An event larger than this fails the stream (UpstreamFailure 'too_large'): memory stays bounded. */
    private readonly maxEventBytes: number = DEFAULT_MAX_EVENT_BYTES,
  ) {
    this.observer = operationSpec(operation).stream;
  }

  addText(text: string): void {
    this.text.push(text);
  }

  /** The generated text seen so far (content, refusals, tool-call arguments). */
  generatedText(): string {
    return this.text.join('');
  }

  /**
   * Feeds bytes from upstream; returns what to send to the client now (null: nothing yet). Linear
   * in the bytes fed: a chunk without an event's end is only searched (with the few bytes before
   * it that a separator may straddle) and set aside, never joined to the rest until the end comes.
   */
  push(chunk: Buffer): Buffer | null {
    if (this.pendingBytes === 0) {
      const { end, separator } = lastBoundary(chunk);
      if (end === -1) {
        this.hold(chunk);
        return null;
      }
      if (end < chunk.length) this.hold(chunk.subarray(end));
      return this.scan(chunk.subarray(0, end), separator);
    }
    // A separator may begin in the held bytes and end in this chunk: look from 3 bytes back.
    const tail = this.tail(3);
    const probe = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    const { end: at, separator } = lastBoundary(probe);
    if (at === -1) {
      this.hold(chunk);
      return null;
    }
    const end = at - tail.length; // where the complete events end, in `chunk`
    const data = Buffer.concat([...this.pending, chunk.subarray(0, end)]);
    this.pending = [];
    this.pendingBytes = 0;
    if (end < chunk.length) this.hold(chunk.subarray(end));
    return this.scan(data, separator);
  }

  /** The stream ended: whatever is left (an unterminated last event) goes out as is. */
  flush(): Buffer | null {
    if (this.pendingBytes === 0) return null;
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.observe(rest.toString('utf8'));
    return rest;
  }

  /**
   * Sets bytes aside until their event's end comes (copied: the transport may reuse its buffer).
   * Small pieces are joined to the last one (a copy of at most 4 KiB more), so an upstream that
   * trickles bytes one by one does not leave a million tiny buffers.
   */
  private hold(bytes: Buffer): void {
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.maxEventBytes) throw tooLarge('a stream event', this.maxEventBytes);
    const last = this.pending.length - 1;
    if (last >= 0 && this.pending[last]!.length < 4096) this.pending[last] = Buffer.concat([this.pending[last]!, bytes]);
    else this.pending.push(Buffer.from(bytes));
  }

  /** The last `n` bytes held (fewer if fewer are), from the last pieces only. */
  private tail(n: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    for (let i = this.pending.length - 1; i >= 0 && got < n; i--) {
      parts.unshift(this.pending[i]!);
      got += this.pending[i]!.length;
    }
    const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return joined.subarray(Math.max(0, joined.length - n));
  }

  /** Observes every complete event in `events`; forwards them, minus a stripped usage chunk. */
  private scan(events: Buffer, separator: Buffer): Buffer {
    let start = 0;
    let kept: Buffer[] | null = null;
    while (start < events.length) {
      let stop = events.indexOf(separator, start);
      stop = stop === -1 ? events.length : stop + separator.length;
      const drop = this.observe(events.toString('utf8', start, stop));
      if (drop) {
        if (!kept) kept = start > 0 ? [events.subarray(0, start)] : [];
      } else if (kept) {
        kept.push(events.subarray(start, stop));
      }
      start = stop;
    }
    if (!kept) return events;
    return Buffer.concat(kept);
  }

  /** Reads one event; returns true when it is the usage chunk to strip. */
  private observe(event: string): boolean {
    const at = event.indexOf('data:');
    if (at === -1) return false;
    const payload = event.slice(at + 5).trim();
    if (payload === '[DONE]' || payload.length === 0) return false;
    // Most events of a stream carry one token of text and nothing else: take it without parsing
    // the whole event (a parse per token is most of what streaming costs here).
    const plainText = this.observer.plainText;
    if (plainText !== undefined) {
      const text = plainText(payload);
      if (text !== null) {
        this.text.push(text);
        return false;
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      return false;
    }
    if (json === null || typeof json !== 'object') return false;
    return this.observer.event(json as Record<string, unknown>, this);
  }
}

/** End of the last complete event in data (just past its blank line), or -1 when there is none. */
function lastBoundary(data: Buffer): { end: number; separator: Buffer } {
  const lf = data.lastIndexOf(LF_LF);
  if (lf !== -1) return { end: lf + 2, separator: LF_LF };
  const crlf = data.lastIndexOf(CRLF_CRLF);
  if (crlf !== -1) return { end: crlf + 4, separator: CRLF_CRLF };
  return { end: -1, separator: LF_LF };
}
