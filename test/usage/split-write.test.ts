import { describe, expect, it } from 'vitest';
import { writeSplitting } from '../../src/usage/split-write.js';
import { writeFailureOf } from '../../src/usage/write-failure.js';

/** An error as a driver raises it: a message and, mostly, a code. */
const failure = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });
const REFUSED_ROW = () => failure('invalid input syntax for type bigint: "10.5"', '22P02');
const STORE_DOWN = () => failure('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');
const ODD = () => failure('something nobody classified');

/**
 * A store that refuses any write holding a row in `bad` (with `error`), or, while `down` says so,
 * every write. Records the writes it was asked for and the rows it took, in order.
 */
function fakeStore(bad: ReadonlySet<number>, error: () => Error, down: (attempt: number) => Error | null = () => null) {
  const attempts: number[][] = [];
  const written: number[] = [];
  const rejected: number[] = [];
  const write = async (rows: readonly number[]) => {
    attempts.push([...rows]);
    const outage = down(attempts.length);
    if (outage) throw outage;
    if (rows.some((r) => bad.has(r))) throw error();
    written.push(...rows);
  };
  const reject = (row: number) => void rejected.push(row);
  return { attempts, written, rejected, write, reject };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('writeSplitting', () => {
  it('writes a batch the store takes in one write', async () => {
    const store = fakeStore(new Set(), REFUSED_ROW);
    expect(await writeSplitting(range(100), store.write, store.reject)).toEqual({ unwritten: [], error: null });
    expect(store.attempts).toHaveLength(1);
    expect(store.written).toEqual(range(100));
  });

  it('splits a batch the store refuses for its data until the bad rows stand alone, writing the rest in order', async () => {
    const store = fakeStore(new Set([37, 38, 99]), REFUSED_ROW);
    const result = await writeSplitting(range(100), store.write, store.reject);
    expect(result.unwritten).toEqual([]);
    expect(store.rejected).toEqual([37, 38, 99]);
    expect(store.written).toEqual(range(100).filter((r) => ![37, 38, 99].includes(r)));
    // About 2·log2(n) writes per bad row, not one per row.
    expect(store.attempts.length).toBeLessThan(45);
  });

  it('rejects a lone row the store refuses for its data, even with nothing else to write', async () => {
    const store = fakeStore(new Set([0]), REFUSED_ROW);
    expect((await writeSplitting([0], store.write, store.reject)).unwritten).toEqual([]);
    expect(store.rejected).toEqual([0]);
  });

  it('keeps everything, without splitting, while the store is down', async () => {
    const store = fakeStore(new Set([5]), REFUSED_ROW, () => STORE_DOWN());
    const result = await writeSplitting(range(100), store.write, store.reject);
    expect(result.unwritten).toEqual(range(100));
    expect(writeFailureOf(result.error)).toBe('store');
    expect(store.attempts).toHaveLength(1);
    expect(store.rejected).toEqual([]);
  });

  it('keeps the rows not yet written when the store goes down mid-way, and rejects nothing more', async () => {
    // Rows 0-49 go in (after the first attempt failed on row 70); then the store is down.
    const store = fakeStore(new Set([70]), REFUSED_ROW, (attempt) => (attempt >= 3 ? STORE_DOWN() : null));
    const result = await writeSplitting(range(100), store.write, store.reject);
    expect(store.written).toEqual(range(50));
    expect(result.unwritten).toEqual(range(100).slice(50));
    expect(store.rejected).toEqual([]);
  });

  it('with an unknown error, rejects a lone failing row once a later write succeeds', async () => {
    const store = fakeStore(new Set([0, 60]), ODD);
    const result = await writeSplitting(range(100), store.write, store.reject);
    expect(result.unwritten).toEqual([]);
    expect(store.rejected).toEqual([0, 60]);
    expect(store.written).toEqual(range(100).filter((r) => r !== 0 && r !== 60));
  });

  it('with an unknown error, takes two lone failures in a row for a failing store: keeps all, rejects none', async () => {
    const store = fakeStore(new Set(), ODD, () => ODD());
    const result = await writeSplitting(range(1000), store.write, store.reject);
    expect(result.unwritten).toEqual(range(1000));
    expect(store.rejected).toEqual([]);
    // Down one side of the halves to a lone row, then its neighbour: log2(n) + 2 attempts.
    expect(store.attempts.length).toBeLessThanOrEqual(12);
  });

  it('with an unknown error, keeps a last lone failing row for the next call to decide', async () => {
    const store = fakeStore(new Set([9]), ODD);
    const first = await writeSplitting(range(10), store.write, store.reject);
    expect(first.unwritten).toEqual([9]);
    expect(store.rejected).toEqual([]);
    // Next time newer rows come behind it: they go in, it is rejected.
    const second = await writeSplitting([9, 10, 11], store.write, store.reject);
    expect(second.unwritten).toEqual([]);
    expect(store.rejected).toEqual([9]);
    expect(store.written).toEqual([...range(9), 10, 11]);
  });
});

describe('writeFailureOf', () => {
  it.each<[string, Error, string]>([
    ['PostgreSQL: invalid input syntax (10.5 into bigint)', failure('invalid input syntax for type bigint: "10.5"', '22P02'), 'rows'],
    ['PostgreSQL: numeric value out of range (1e20)', failure('value "100000000000000000000" is out of range for type bigint', '22003'), 'rows'],
    ['PostgreSQL: not-null violation', failure('null value in column', '23502'), 'rows'],
    ['SQLite: constraint', failure('NOT NULL constraint failed: request_log.gateway', 'SQLITE_CONSTRAINT_NOTNULL'), 'rows'],
    ['PostgreSQL: admin shutdown', failure('terminating connection due to administrator command', '57P01'), 'store'],
    ['PostgreSQL: too many connections', failure('sorry, too many clients already', '53300'), 'store'],
    ['PostgreSQL: connection failure', failure('connection failure', '08006'), 'store'],
    ['PostgreSQL: serialization failure', failure('could not serialize access', '40001'), 'store'],
    ['socket: refused', STORE_DOWN(), 'store'],
    ['socket: reset', failure('read ECONNRESET', 'ECONNRESET'), 'store'],
    ["pg's pool: connect timeout", failure('timeout exceeded when trying to connect'), 'store'],
    ["pg's client: terminated", failure('Connection terminated unexpectedly'), 'store'],
    ['SQLite: busy', failure('database is locked', 'SQLITE_BUSY'), 'store'],
    ['SQLite: disk full', failure('database or disk is full', 'SQLITE_FULL'), 'store'],
    ['anything else', ODD(), 'unknown'],
  ])('%s', (_name, error, expected) => {
    expect(writeFailureOf(error)).toBe(expected);
  });

  it('reads what is not an Error', () => {
    expect(writeFailureOf(null)).toBe('unknown');
    expect(writeFailureOf('boom')).toBe('unknown');
    expect(writeFailureOf({ code: '22P02' })).toBe('rows');
  });
});
