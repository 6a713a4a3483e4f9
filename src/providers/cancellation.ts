/**
 * Tells an upstream call that its client has gone. Costs nothing until it is used: most calls
 * finish normally, so the AbortSignal that some APIs want is only created when one asks for it,
 * and a transport with its own abort handle registers a plain callback instead.
 */
export class Cancellation {
  private controller: AbortController | null = null;
  private hooks: ((reason: Error) => void)[] | null = null;
  private cancelReason: Error | null = null;

  /** Follows an existing signal (for callers that already have one). */
  static following(signal: AbortSignal): Cancellation {
    const c = new Cancellation();
    if (signal.aborted) c.cancel(signal.reason as Error);
    else signal.addEventListener('abort', () => c.cancel(signal.reason as Error), { once: true });
    return c;
  }

  get cancelled(): boolean {
    return this.cancelReason !== null;
  }

  get reason(): Error | null {
    return this.cancelReason;
  }

  /** An AbortSignal that aborts with the same reason; created on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelReason) this.controller.abort(this.cancelReason);
    }
    return this.controller.signal;
  }

  /** Runs `hook` on cancellation (at once when already cancelled). */
  onCancel(hook: (reason: Error) => void): void {
    if (this.cancelReason) {
      hook(this.cancelReason);
      return;
    }
    (this.hooks ??= []).push(hook);
  }

  cancel(reason: Error = abortError()): void {
    if (this.cancelReason) return;
    this.cancelReason = reason;
    this.controller?.abort(reason);
    const hooks = this.hooks;
    this.hooks = null;
    if (hooks) for (const hook of hooks) hook(reason);
  }
}

function abortError(): Error {
  return new DOMException('The client went away.', 'AbortError');
}
