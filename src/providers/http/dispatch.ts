import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Cancellation } from '../cancellation.js';
import { tooLarge, type UpstreamBody, type UpstreamResponse } from '../provider.js';

type Controller = Dispatcher.DispatchController;

/** Bytes buffered for a slow consumer before the upstream socket is paused. */
const HIGH_WATER_BYTES = 64 * 1024;

export interface DispatchRequest {
  origin: string;
  /** Path and query. */
  path: string;
  /** Flat [name, value, name, value, ...] list: undici's cheapest form. */
  headers: string[];
  body: string;
  timeoutMs: number;
}

/**
 * Names a transport error: `midBody` when the answer had begun (status and headers in) and its
 * body broke off or stalled.
 */
export type TransportFailure = (err: Error, midBody: boolean) => Error;

/**
 * One POST through undici's dispatcher, at its lowest public level: no stream objects and no
 * AbortSignal per call (undici's `request()` makes both). Resolves once the status and headers
 * are in; the body follows as an async iterable of the chunks as they arrive, with backpressure
 * (the socket is paused while a slow consumer has more than 64 KiB waiting). A transport error,
 * before the headers or while the body is read, reaches the caller as `failure` names it; a
 * cancellation reaches it as its own reason.
 */
export function dispatchPost(
  dispatcher: Dispatcher,
  req: DispatchRequest,
  cancellation: Cancellation,
  failure: TransportFailure = (err) => err,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const handler = new ResponseHandler(resolve, reject, failure);
    cancellation.onCancel((reason) => handler.abort(reason));
    dispatcher.dispatch(
      {
        origin: req.origin,
        path: req.path,
        method: 'POST',
        headers: req.headers,
        body: req.body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      },
      handler,
    );
  });
}

class ResponseHandler implements Dispatcher.DispatchHandler {
  private controller: Controller | null = null;
  private abortReason: Error | null = null;
  private body: BodyChunks | null = null;

  constructor(
    private resolve: ((response: UpstreamResponse) => void) | null,
    private reject: ((err: Error) => void) | null,
    private readonly failure: TransportFailure,
  ) {}

  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    // Before the request reaches a socket there is no controller yet: onRequestStart aborts.
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders): void {
    this.body = new BodyChunks(controller);
    const resolve = this.resolve!;
    this.resolve = this.reject = null;
    resolve({ status: statusCode, headers, body: this.body });
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.body!.push(chunk);
  }

  onResponseEnd(): void {
    this.body!.end(null);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.reject) {
      const reject = this.reject;
      this.resolve = this.reject = null;
      reject(this.abortReason ?? this.failure(err, false));
    } else {
      // The answer had begun: a body that breaks off or stalls is as much an upstream failure as
      // one that never came, and must not reach the data plane as an unexpected error.
      this.body?.end(this.abortReason ?? this.failure(err, true));
    }
  }
}

/** The response body: chunks queued as undici delivers them, read once with for await or collect(). */
class BodyChunks implements UpstreamBody, AsyncIterator<Buffer> {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private ended = false;
  private error: Error | null = null;
  private waiting: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: Error) => void } | null = null;
  private collecting: { resolve: (body: Buffer) => void; reject: (e: Error) => void } | null = null;
  /** While collecting: the bytes gathered, and the most it may gather. */
  private collected = 0;
  private maxBytes = Infinity;

  constructor(private readonly controller: Controller) {}

  push(chunk: Buffer): void {
    if (this.ended) return; // dropped after an overflow, until the abort takes hold
    if (this.collecting) {
      this.collected += chunk.length;
      if (this.collected > this.maxBytes) {
        this.overflow();
        return;
      }
      this.queue.push(chunk);
      return;
    }
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > HIGH_WATER_BYTES) this.controller.pause();
  }

  end(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (this.collecting) {
      const { resolve, reject } = this.collecting;
      this.collecting = null;
      if (error) reject(error);
      else resolve(this.gathered());
      return;
    }
    if (this.waiting && this.head === this.queue.length) {
      const { resolve, reject } = this.waiting;
      this.waiting = null;
      if (error) reject(error);
      else resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this;
  }

  /** The whole body, resolved once it has ended: one promise rather than one per chunk; at most `maxBytes`. */
  collect(maxBytes = Infinity): Promise<Buffer> {
    this.maxBytes = maxBytes;
    this.collected = this.buffered;
    if (this.collected > maxBytes && !this.ended) this.controller.abort(tooLarge('an answer', maxBytes));
    if (this.collected > maxBytes) return Promise.reject(tooLarge('an answer', maxBytes));
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve(this.gathered());
    const whole = new Promise<Buffer>((resolve, reject) => {
      this.collecting = { resolve, reject };
    });
    // Gathering everything: no point holding the upstream back for a consumer that waits for the
    // end. Only now that `collecting` is set: resume() delivers what the socket holds, the end
    // included, before it returns.
    if (this.controller.paused) this.controller.resume();
    return whole;
  }

  /** Too much to gather: drop what was gathered, stop reading the upstream, fail the collect. */
  private overflow(): void {
    const error = tooLarge('an answer', this.maxBytes);
    this.queue.length = 0;
    this.head = 0;
    this.end(error);
    this.controller.abort(error);
  }

  private gathered(): Buffer {
    const chunks = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    this.buffered = 0;
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.head < this.queue.length) {
      const chunk = this.queue[this.head]!;
      this.queue[this.head++] = EMPTY;
      this.buffered -= chunk.length;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        if (this.controller.paused && !this.ended) this.controller.resume();
      }
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.ended) return this.error ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    const chunk = new Promise<IteratorResult<Buffer>>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    if (this.controller.paused) this.controller.resume(); // after `waiting` is set, as in collect()
    return chunk;
  }

  /** The consumer stopped early (break, throw): stop reading the upstream. */
  return(): Promise<IteratorResult<Buffer>> {
    if (!this.ended) {
      this.ended = true;
      this.controller.abort(new DOMException('The body was not read to the end.', 'AbortError'));
    }
    this.queue.length = 0;
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }
}

const EMPTY = Buffer.alloc(0);
