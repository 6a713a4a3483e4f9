import { Histogram, type HistogramConfiguration, type LabelValues, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';

/** One label set's counts: observe() is a bucket search and three additions. */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

/**
 * A prom-client Histogram whose label sets count into plain cells, resolved once: prom-client's
 * own children validate and hash their labels into a string on every observe(), which costs more
 * than everything else the metrics do per request. Exposed as any prom-client histogram is (the
 * same `_bucket` / `_sum` / `_count` series, labels and `le` bounds); only cell() observes into it.
 */
export class CellHistogram<T extends string> extends Histogram<T> {
  private readonly cells = new Map<string, HistogramCell>();
  private readonly bounds: readonly number[];
  private readonly metric: { name: string; help: string };

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.metric = { name: config.name, help: config.help };
  }

  /** The cell of one label set (created on first use); keep it and observe into it. */
  cell(labels: Readonly<Record<T, string>>): HistogramCell {
    const key = Object.values<string>(labels).join('\u0000');
    let cell = this.cells.get(key);
    if (!cell) {
      cell = new HistogramCell({ ...labels }, this.bounds);
      this.cells.set(key, cell);
    }
    return cell;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return this.export((labels, le) => ({ labels: (le === undefined ? labels : { ...labels, le }) as LabelValues<T> }));
  }

  /**
   * What prom-client's registry reads for the text format when a metric has it: the series' labels
   * as shared labels after `le`, as prom-client's histograms write them.
   */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return Promise.resolve(this.export((labels, le) => (le === undefined ? { labels: labels as LabelValues<T> } : { labels: { le } as LabelValues<T>, sharedLabels: labels })));
  }

  private export(
    labelsOf: (labels: Readonly<Record<string, string>>, le?: number | string) => { labels: LabelValues<T>; sharedLabels?: Readonly<Record<string, string>> },
  ): MetricObjectWithValues<MetricValueWithName<T>> {
    const { name, help } = this.metric;
    const values: MetricValueWithName<T>[] = [];
    for (const cell of this.cells.values()) {
      if (cell.count === 0) continue; // as prom-client: a label set appears with its first observation
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ metricName: `${name}_bucket`, ...labelsOf(cell.labels, this.bounds[i]), value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, ...labelsOf(cell.labels, '+Inf'), value: cell.count });
      values.push({ metricName: `${name}_sum`, ...labelsOf(cell.labels), value: cell.sum });
      values.push({ metricName: `${name}_count`, ...labelsOf(cell.labels), value: cell.count });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' } as unknown as MetricObjectWithValues<MetricValueWithName<T>>;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.cells as Map<string, HistogramCell> | undefined)?.clear();
  }
}
