/** Width of the TPM window in one-second buckets. */
export const WINDOW_SECONDS = 60;

/**
 * Tokens admitted per second over the last 60 seconds: a ring of 60 one-second buckets and their
 * running total. Advancing clears the buckets that left the window, so every operation is O(1)
 * amortised (at most 60 bucket clears per advance) and allocation-free.
 *
 * Invariant: `total` equals the sum of the buckets for seconds (head - 59) … head.
 */
export class RollingWindow {
  private readonly buckets = new Float64Array(WINDOW_SECONDS);
  private head = Number.NEGATIVE_INFINITY;
  private sum = 0;

  /** Tokens admitted in the 60 seconds ending with `second` (inclusive). */
  used(second: number): number {
    this.at(second);
    return this.sum;
  }

  add(second: number, tokens: number): void {
    const s = this.at(second);
    this.buckets[s % WINDOW_SECONDS]! += tokens;
    this.sum += tokens;
  }

  /**
   * Corrects tokens admitted at `admittedSecond` by `delta` (negative: returned; positive: overrun).
   * If that second has left the window, a return is moot and an overrun is charged now.
   */
  adjust(admittedSecond: number, delta: number, second: number): void {
    const nowSecond = this.at(second);
    if (admittedSecond > nowSecond - WINDOW_SECONDS && admittedSecond <= nowSecond) {
      const i = admittedSecond % WINDOW_SECONDS;
      const next = Math.max(0, this.buckets[i]! + delta);
      this.sum += next - this.buckets[i]!;
      this.buckets[i] = next;
    } else if (delta > 0) {
      this.add(nowSecond, delta);
    }
  }

  /**
   * The first second at which `needed` tokens will have left the window, or null if they never
   * will (the window does not hold that many). Walks from the oldest bucket: O(60), only on refusals.
   */
  secondWhenFreed(second: number, needed: number): number | null {
    const nowSecond = this.at(second);
    let freed = 0;
    for (let s = nowSecond - WINDOW_SECONDS + 1; s <= nowSecond; s++) {
      freed += this.buckets[s % WINDOW_SECONDS]!;
      if (freed >= needed) return s + WINDOW_SECONDS;
    }
    return null;
  }

  /** The second at which everything now in the window has left it (the window is empty then). */
  secondWhenEmpty(second: number): number {
    const nowSecond = this.at(second);
    for (let s = nowSecond; s > nowSecond - WINDOW_SECONDS; s--) {
      if (this.buckets[s % WINDOW_SECONDS]! > 0) return s + WINDOW_SECONDS;
    }
    return nowSecond;
  }

  /** The window as plain data, for a checkpoint that survives restarts. */
  toJSON(): { head: number; buckets: number[] } {
    return { head: Number.isFinite(this.head) ? this.head : -1, buckets: Array.from(this.buckets) };
  }

  static fromJSON(data: { head: number; buckets: number[] }): RollingWindow {
    const window = new RollingWindow();
    if (data.head < 0 || data.buckets.length !== WINDOW_SECONDS) return window;
    window.head = data.head;
    for (let i = 0; i < WINDOW_SECONDS; i++) {
      const v = data.buckets[i]!;
      window.buckets[i] = v;
      window.sum += v;
    }
    return window;
  }

  /**
   * Moves the window to `second` and returns the second to act at. A clock that stepped back acts
   * at the newest second seen, so the window never reaches outside itself.
   */
  private at(second: number): number {
    this.advance(second);
    return Math.max(second, this.head);
  }

  private advance(second: number): void {
    if (second <= this.head) return;
    if (second - this.head >= WINDOW_SECONDS) {
      this.buckets.fill(0);
      this.sum = 0;
    } else {
      for (let s = this.head + 1; s <= second; s++) {
        const i = s % WINDOW_SECONDS;
        this.sum -= this.buckets[i]!;
        this.buckets[i] = 0;
      }
    }
    this.head = second;
  }
}
