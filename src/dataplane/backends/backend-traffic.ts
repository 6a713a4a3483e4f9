/**
 * What happened to the calls of a backend, on this node since it started (docs/backends.md):
 * - `ok`: its answer was relayed to the client (any status its pool does not retry on);
 * - `failed_over`: it failed (a status of `retry.on`, refused, timed out) and the request went on to another backend;
 * - `error`: it failed and was the request's last call (its failure or answer went to the client);
 * - `tripped_skip`: a pick passed it over because its breaker was open (no call was made).
 */
export type BackendOutcome = 'ok' | 'failed_over' | 'error' | 'tripped_skip';

export interface BackendCounts {
  readonly deployment: string;
  readonly backend: string;
  ok: number;
  failed_over: number;
  error: number;
  tripped_skip: number;
}

/**
 * Per-backend counts of this node, as plain numbers by breaker key (deployment id and backend
 * name; a one-upstream deployment's id): no label hashing per request — the metrics read them
 * when scraped.
 */
export class BackendTraffic {
  private readonly cells = new Map<string, BackendCounts>();

  count(key: string, deployment: string, backend: string, outcome: BackendOutcome): void {
    let c = this.cells.get(key);
    if (!c) this.cells.set(key, (c = { deployment, backend, ok: 0, failed_over: 0, error: 0, tripped_skip: 0 }));
    c[outcome]++;
  }

  /** The calls this node made to the backend (skips excluded). */
  sent(key: string): number {
    const c = this.cells.get(key);
    return c ? c.ok + c.failed_over + c.error : 0;
  }

  all(): IterableIterator<[string, BackendCounts]> {
    return this.cells.entries();
  }
}
