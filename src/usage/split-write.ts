import { writeFailureOf } from './write-failure.js';

export interface SplitWriteResult<T> {
  /** Rows not written because the store failed, in order: to write again later. */
  unwritten: T[];
  /** The store's error when `unwritten` is not empty. */
  error: unknown;
}

/**
 * Writes `rows` in order, so that one row the store refuses can never hold back the others.
 *
 * A failed write means either that the store is failing (down, unreachable, out of connections)
 * or that some row in it is refused (a value out of range, a constraint). The first must keep
 * the rows and try them again later, all of them; the second must find the row at fault and drop
 * it, or the same write fails for ever and every row behind it is lost. So:
 * - An error that says the store failed (connection errors, SQLSTATE classes 08/53/57/40,
 *   SQLITE_BUSY/FULL/IOERR…: see writeFailureOf) stops here: everything not yet written is kept.
 *   No splitting: with a store that is down it would cost one attempt per row, each time.
 * - An error that says the data is refused (SQLSTATE classes 22/23, SQLITE_CONSTRAINT…) splits
 *   the write in halves, written in turn, each split again while it fails that way: the rows
 *   that can be written are, and a row that fails alone is rejected (given to `reject`, never
 *   retried). One bad row in n costs about 2·log2(n) writes.
 * - An error that says neither is split too, but a row failing alone with it is rejected only
 *   once a later write of this call has succeeded (the store works; that row does not). Two
 *   consecutive rows failing alone, nothing written between them, are a store failing: all from
 *   the first of them on is kept, nothing rejected. A row still waiting for that proof when the
 *   rows run out is kept as well: the next call, with newer rows behind it, decides. (A store
 *   dying mid-call thus costs no row, and a down store about log2(n) + 2 attempts.)
 *
 * Rows are written in order and only ever kept as a tail, so the written ones stay ordered.
 */
export async function writeSplitting<T>(
  rows: readonly T[],
  write: (rows: readonly T[]) => Promise<void>,
  reject: (row: T, error: unknown) => void,
): Promise<SplitWriteResult<T>> {
  /** Rows from the start that are written or rejected (or the suspect). */
  let done = 0;
  /** A row that failed alone with an unknown error, waiting for a write that succeeds. */
  let suspect: { row: T; error: unknown } | null = null;
  /** The error that said the store is failing: the rest is kept. */
  let failed: { error: unknown } | null = null;

  const attempt = async (part: readonly T[]): Promise<boolean> => {
    let error: unknown;
    try {
      await write(part);
      done += part.length;
      if (suspect) reject(suspect.row, suspect.error);
      suspect = null;
      return true;
    } catch (err) {
      error = err;
    }
    const failure = writeFailureOf(error);
    if (failure === 'store' || (failure === 'unknown' && part.length === 1 && suspect)) {
      failed = { error };
      return false;
    }
    if (part.length > 1) {
      const half = Math.ceil(part.length / 2);
      return (await attempt(part.slice(0, half))) && attempt(part.slice(half));
    }
    if (failure === 'rows') reject(part[0]!, error);
    else suspect = { row: part[0]!, error };
    done += 1;
    return true;
  };

  await attempt(rows);
  // Assigned in attempt(), which TypeScript's flow analysis does not follow.
  const waiting = suspect as { row: T; error: unknown } | null;
  const stop = failed as { error: unknown } | null;
  const rest = rows.slice(done);
  return { unwritten: waiting ? [waiting.row, ...rest] : rest, error: stop?.error ?? waiting?.error ?? null };
}
