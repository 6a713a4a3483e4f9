/**
 * Why a ledger write failed, as far as the error says:
 * - `rows`: the store refused the data itself (a value out of range or of the wrong type, a
 *   constraint): writing the same rows again will fail again, whatever the store's health;
 * - `store`: the store could not take the write (unreachable, connection lost, shutting down,
 *   out of connections, busy, disk full): the same rows will go in once it recovers;
 * - `unknown`: neither; the writer tells the two apart by what happens next (see LedgerWriter).
 */
export type WriteFailure = 'rows' | 'store' | 'unknown';

/**
 * PostgreSQL SQLSTATE classes: 22 data exception (invalid input syntax, numeric value out of
 * range, bad encoding), 23 integrity constraint violation.
 */
const PG_ROWS = /^2[23][0-9A-Z]{3}$/;
/**
 * 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown,
 * cancel), 40 transaction rollback (serialization failure, deadlock), 55P03 lock not available.
 */
const PG_STORE = /^(08|53|57|40)[0-9A-Z]{3}$|^55P03$/;
/** SQLite result codes (extended ones start with the primary code's name). */
const SQLITE_ROWS = /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/;
const SQLITE_STORE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|NOMEM|PROTOCOL)/;
/** Socket errors, and those pg's pool raises without a code. */
const NODE_STORE = /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)/;
const MESSAGE_STORE = /connect|terminated|timeout|pool|thread has stopped/i;

export function writeFailureOf(err: unknown): WriteFailure {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (PG_ROWS.test(code) || SQLITE_ROWS.test(code)) return 'rows';
    if (PG_STORE.test(code) || SQLITE_STORE.test(code) || NODE_STORE.test(code)) return 'store';
  }
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && MESSAGE_STORE.test(message)) return 'store';
  return 'unknown';
}
