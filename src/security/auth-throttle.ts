import type { IncomingMessage } from 'node:http';

export interface AuthThrottleOptions {
  /** Failed authentications an address may make per window before it is refused; 0: no throttling. */
  maxFailures: number;
  windowMs: number;
  /** Addresses tracked at most: beyond, the oldest entry goes (bounded memory under a spray of addresses). */
  maxTracked?: number;
  now?: () => number;
}

/**
 * Slows down guessing of project keys and admin tokens: an address whose authentications failed
 * `maxFailures` times within a window is refused (429) for the rest of that window — every
 * attempt, right or wrong, or a right guess would show by being let through. Costs nothing on the
 * request path while no address has failed (one size check).
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { since: number; count: number }>();
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(private readonly options: AuthThrottleOptions) {
    this.maxTracked = options.maxTracked ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether any address has failed lately: callers skip the lookup (and the address) otherwise. */
  get active(): boolean {
    return this.failures.size > 0;
  }

  /** Whole seconds until `address` may try again, or 0 when it may now. */
  retryAfter(address: string): number {
    const f = this.failures.get(address);
    if (f === undefined || this.options.maxFailures === 0) return 0;
    const left = f.since + this.options.windowMs - this.now();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return f.count >= this.options.maxFailures ? Math.ceil(left / 1000) : 0;
  }

  /** Counts a failed authentication of `address`. */
  failed(address: string): void {
    if (this.options.maxFailures === 0) return;
    const now = this.now();
    const f = this.failures.get(address);
    if (f !== undefined && now - f.since < this.options.windowMs) {
      f.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= this.maxTracked) this.evict(now);
    this.failures.set(address, { since: now, count: 1 });
  }

  /** Drops expired entries; if none expired, the oldest (Maps iterate in insertion order). */
  private evict(now: number): void {
    for (const [address, f] of this.failures) if (now - f.since >= this.options.windowMs) this.failures.delete(address);
    if (this.failures.size >= this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }
}

/**
 * The client's address: the socket's peer, or — behind a trusted proxy — the last address of
 * X-Forwarded-For (the one that proxy saw connect; addresses before it are the client's say-so).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const value = Array.isArray(forwarded) ? forwarded[forwarded.length - 1] : forwarded;
    if (value) {
      const comma = value.lastIndexOf(',');
      const last = (comma === -1 ? value : value.slice(comma + 1)).trim();
      if (last) return last;
    }
  }
  return req.socket.remoteAddress ?? 'unknown';
}
