import { Histogram, type Registry } from 'prom-client';

/** What prom-client keeps per label set of a Histogram (its `hashMap` values; not in its types). */
interface HistogramEntry {
  labels: Record<string, string | number>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** One label set's observations: per bucket (not cumulative; the last is above every bound). */
interface Tally {
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A histogram observed on a hot path (the fan-out, once per room flush; stored pushes and their
 * acks): the counts are kept here in plain numbers and put into prom-client's Histogram when it
 * is scraped (its `collect`). prom-client's own `observe` builds a label object, validates and
 * hashes it and finds the bucket by string key on every call: ~2.6 % of a node's CPU with many
 * small rooms, where every message is its own flush, and ~3 % of a stored push's
 * (docs/performance.md). It has no label, or one label whose values are fixed when it is made;
 * the scrape writes the entries prom-client keeps per label set (`zero(labels)` creates them),
 * so the exposition is prom-client's. A label value never observed is not exposed, as with
 * prom-client.
 */
export class TalliedHistogram {
  private readonly bounds: readonly number[];
  private readonly labelName: string | null;
  private readonly labelValues: readonly string[];
  private readonly tallies: Tally[];

  constructor(config: {
    name: string;
    help: string;
    buckets: number[];
    registers: Registry[];
    /** The one label and its values (observe's `labelIndex` picks one); none by default. */
    label?: { name: string; values: readonly string[] };
  }) {
    const { label, ...histogramConfig } = config;
    this.bounds = config.buckets;
    this.labelName = label?.name ?? null;
    this.labelValues = label?.values ?? [''];
    this.tallies = this.labelValues.map(() => ({
      counts: new Array<number>(config.buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
    }));
    const tally = this;
    const histogram = new Histogram({
      ...histogramConfig,
      ...(label ? { labelNames: [label.name] } : {}),
      collect(this: Histogram) {
        tally.writeInto(this);
      },
    });
    // `registry.resetMetrics()` and `histogram.reset()` clear prom-client's entries: the tallies
    // too, or they would come back at the next scrape.
    const reset = histogram.reset;
    histogram.reset = () => {
      tally.clear();
      reset.call(histogram);
    };
  }

  /**
   * Counts a value for the label value at `labelIndex` (0 without a label); a non-finite one is
   * ignored (prom-client's own `observe` throws on NaN).
   */
  observe(value: number, labelIndex = 0): void {
    if (!Number.isFinite(value)) return;
    const tally = this.tallies[labelIndex];
    if (tally === undefined) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    tally.counts[i]!++;
    tally.sum += value;
    tally.count++;
  }

  private clear(): void {
    for (const tally of this.tallies) {
      tally.counts.fill(0);
      tally.sum = 0;
      tally.count = 0;
    }
  }

  private writeInto(histogram: Histogram): void {
    // prom-client's per-label-set store is not in its types: the shape this reads is declared here
    // (and src/metrics/prometheus.test.ts fails if a prom-client upgrade changes it).
    const store = histogram as unknown as { hashMap: Record<string, HistogramEntry | undefined> };
    this.tallies.forEach((tally, k) => {
      const labels = this.labelName === null ? {} : { [this.labelName]: this.labelValues[k]! };
      // Without a label the (empty) series is always there; a label value once it was observed.
      if (this.labelName !== null && tally.count === 0) return;
      histogram.zero(labels);
      const entry = Object.values(store.hashMap).find((e) => sameLabels(e?.labels, labels));
      if (entry === undefined) return;
      this.bounds.forEach((bound, i) => {
        entry.bucketValues[bound] = tally.counts[i]!;
      });
      entry.sum = tally.sum;
      entry.count = tally.count;
    });
  }
}

/** Whether prom-client's label set `a` is `b` (one level, string values). */
function sameLabels(a: Record<string, string | number> | undefined, b: Record<string, string>) {
  if (a === undefined) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => String(a[k]) === b[k]);
}
