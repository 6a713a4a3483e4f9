import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CellHistogram } from '../../src/observability/cell-histogram.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.1, 1, 10];
const config = (registry: Registry) => ({ name: 'x_seconds', help: 'How long.', labelNames: ['gateway', 'deployment'] as const, buckets: BUCKETS, registers: [registry] });
const sortedLines = (text: string) => text.trim().split('\n').sort();

describe('CellHistogram', () => {
  it("exposes what prom-client's own Histogram exposes for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const cells = new CellHistogram(config(ours));
    const reference = new Histogram(config(theirs));
    const values = [0, 0.001, 0.005, 0.0051, 0.02, 0.1, 0.5, 3, 10, 11, 250];
    for (const [gateway, deployment] of [['gw', 'gpt-4o'], ['gw', ''], ['other "gw"', 'm\\n']] as const) {
      const cell = cells.cell({ gateway, deployment });
      for (const v of values) {
        cell.observe(v);
        reference.observe({ gateway, deployment }, v);
      }
    }
    expect(sortedLines(await ours.metrics())).toEqual(sortedLines(await theirs.metrics()));
    // get() (JSON) too, but for the exemplars this histogram does not keep.
    const plain = (v: { metricName?: string; labels: object; value: number }) => ({ metricName: v.metricName, labels: { ...v.labels }, value: v.value });
    expect((await cells.get()).values.map(plain)).toEqual((await reference.get()).values.map(plain));
  });

  it('gives one cell per label set and empties on reset', async () => {
    const registry = new Registry();
    const cells = new CellHistogram(config(registry));
    expect(cells.cell({ gateway: 'a', deployment: 'b' })).toBe(cells.cell({ gateway: 'a', deployment: 'b' }));
    expect((await cells.get()).values).toHaveLength(0); // a label set appears with its first observation
    cells.cell({ gateway: 'a', deployment: 'b' }).observe(1);
    expect((await cells.get()).values).toHaveLength(BUCKETS.length + 3);
    cells.reset();
    expect((await cells.get()).values).toHaveLength(0);
  });
});
