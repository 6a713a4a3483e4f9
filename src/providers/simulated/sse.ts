import { Readable } from 'node:stream';

/** A `data:` event, as chat and legacy completions stream. */
export function sseData(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

/** A named event, as the Responses API streams (the type is repeated in the payload). */
export function sseEvent(type: string, value: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(value)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * Streams `chunks` one push each, `delayMs` apart (the first one at once). Chunks are pulled
 * lazily, only when the consumer wants more, so backpressure also paces generation. An abort
 * destroys the stream (without an error, so a consumer without an 'error' listener cannot
 * crash) and cancels the pending timer.
 */
export function chunkStream(chunks: Iterable<string>, delayMs: number, signal: AbortSignal): Readable {
  const iterator = chunks[Symbol.iterator]();
  let timer: NodeJS.Timeout | null = null;
  let first = true;

  const pushNext = (): void => {
    const next = iterator.next();
    stream.push(next.done ? null : next.value);
  };
  const onAbort = (): void => {
    stream.destroy();
  };

  const stream = new Readable({
    read() {
      if (timer !== null) return;
      if (first || delayMs <= 0) {
        first = false;
        pushNext();
        return;
      }
      timer = setTimeout(() => {
        timer = null;
        pushNext();
      }, delayMs);
    },
    destroy(error, callback) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      signal.removeEventListener('abort', onAbort);
      iterator.return?.();
      callback(error);
    },
  });

  if (signal.aborted) stream.destroy();
  else signal.addEventListener('abort', onAbort, { once: true });
  return stream;
}
