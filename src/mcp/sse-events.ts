import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a text/event-stream into whole events as bytes arrive, so each event can be passed on
 * (or rewritten) the moment it is complete, and nothing more than one partial event is held.
 * Events end with a blank line (`\n\n`, `\r\n\r\n` or `\r\r`). Not thread-safe: one per stream.
 */
export class SseEventSplitter {
  private pending = '';
  /** Keeps a character split between two chunks whole. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly maxEventBytes: number) {}

  /** A `\r` that ended the last chunk: a `\n` may follow in the next one (one CRLF line ending). */
  private carriageReturn = false;

  /**
   * The events completed by this chunk, each with its terminating blank line; line endings are
   * normalised to `\n` (the same events). Throws past maxEventBytes.
   */
  push(chunk: Buffer | string): string[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (this.carriageReturn) text = `\r${text}`;
    this.carriageReturn = text.endsWith('\r');
    if (this.carriageReturn) text = text.slice(0, -1);
    this.pending += text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const events: string[] = [];
    for (let end = this.pending.indexOf('\n\n'); end !== -1; end = this.pending.indexOf('\n\n')) {
      events.push(this.pending.slice(0, end + 2));
      this.pending = this.pending.slice(end + 2);
    }
    if (this.pending.length > this.maxEventBytes) throw new EventTooLarge(this.maxEventBytes);
    return events;
  }

  /** Whatever is left when the stream ends (an unterminated last event), or ''. */
  flush(): string {
    const rest = this.pending + this.decoder.end() + (this.carriageReturn ? '\n' : '');
    this.pending = '';
    this.carriageReturn = false;
    return rest;
  }
}

export class EventTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`an event of the upstream's stream is larger than ${limit} bytes`);
    this.name = 'EventTooLarge';
  }
}

/** The data of an event (its `data:` lines joined by newlines), or null when it has none. */
export function eventData(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data')) continue;
    if (line.length > 4 && line[4] !== ':') continue;
    let value = line.slice(5);
    if (value.startsWith(' ')) value = value.slice(1);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

/** The event with its data replaced (its other fields — id, event, retry — kept in order). */
export function withEventData(event: string, data: string): string {
  const lines = event.split(/\r\n|\r|\n/).filter((l) => l.length > 0);
  const out: string[] = [];
  let written = false;
  for (const line of lines) {
    if (line.startsWith('data:') || line === 'data') {
      if (!written) for (const d of data.split('\n')) out.push(`data: ${d}`);
      written = true;
    } else out.push(line);
  }
  if (!written) for (const d of data.split('\n')) out.push(`data: ${d}`);
  return `${out.join('\n')}\n\n`;
}
