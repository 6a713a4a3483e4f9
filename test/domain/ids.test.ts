import { describe, expect, it } from 'vitest';
import { idBoundAt, nodePart, SequentialIds } from '../../src/domain/ids.js';

describe('SequentialIds', () => {
  it('orders ids by time, then by sequence within a millisecond, with the node part in place', () => {
    const ids = new SequentialIds('lg');
    const made = [ids.next(1_000), ids.next(1_000), ids.next(1_001), ids.next(1_001), ids.next(5_000_000)];
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
    const { start, length } = nodePart('lg');
    for (const id of made) expect(id.slice(start, start + length)).toBe(ids.node);
    expect(made[2]! >= idBoundAt('lg', 1_001)).toBe(true);
    expect(made[1]! < idBoundAt('lg', 1_001)).toBe(true);
  });
});

describe('SequentialIds.last', () => {
  it('remembers the last id it made', () => {
    const ids = new SequentialIds('lg');
    expect(ids.last).toBeNull();
    const id = ids.next(1_000);
    expect(ids.last).toBe(id);
  });
});
