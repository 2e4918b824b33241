/**
 * A small HDR-like latency histogram: exact below 256 units, then 128 linear sub-buckets per
 * power of two (under 1% relative error). Values are recorded in microseconds by convention.
 * Histograms merge by adding their count arrays, so worker processes send theirs as plain arrays.
 */

const SUB = 128;
const LINEAR = 2 * SUB;
const MAX_EXP = 23;
/** Number of buckets; a value above the top bucket is clamped into it. */
export const BUCKETS = LINEAR + MAX_EXP * SUB;

/** Bucket index of a non-negative integer value. */
export function bucketOf(value: number): number {
  // Clamped to 2^31 - 1 so that integer bit operations apply (2^31 us is 35 minutes).
  const v = value <= 0 ? 0 : value >= 0x7fffffff ? 0x7fffffff : value | 0;
  if (v < LINEAR) return v;
  // e = position of the top bit - 7, so v >>> e is in [128, 255].
  const e = 24 - Math.clz32(v);
  return LINEAR + (e - 1) * SUB + ((v >>> e) - SUB);
}

/** The value a bucket stands for (the middle of its range). */
export function bucketValue(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const e = Math.floor((bucket - LINEAR) / SUB) + 1;
  const sub = (bucket - LINEAR) % SUB;
  const low = (SUB + sub) * 2 ** e;
  return low + 2 ** e / 2;
}

/** Counts of values per bucket, with exact count, sum and max. */
export class Histogram {
  readonly counts: Float64Array = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /**
   * Records a value (microseconds by convention; negative values count as 0) `weight` times:
   * the load generator records a merged frame's oldest latency once for each of its messages.
   */
  record(value: number, weight = 1): void {
    const i = bucketOf(value);
    this.counts[i] = (this.counts[i] ?? 0) + weight;
    this.count += weight;
    this.sum += Math.max(0, value) * weight;
    if (value > this.max) this.max = value;
  }

  /** Adds another histogram (or its serialized form) into this one. */
  merge(other: HistogramData): void {
    const c = other.counts;
    for (let i = 0; i < c.length && i < BUCKETS; i++) {
      const n = c[i] ?? 0;
      if (n !== 0) this.counts[i] = (this.counts[i] ?? 0) + n;
    }
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at quantile q in [0, 1]; 0 when empty. The top quantile reports the exact max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(bucketValue(i), this.max);
    }
    return this.max;
  }

  /** Mean of the recorded values; 0 when empty. */
  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Clears every count. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** A compact serializable form: only non-zero buckets as [index, count] pairs. */
  toData(): HistogramData {
    const counts: number[] = [];
    let last = 0;
    for (let i = 0; i < BUCKETS; i++) if ((this.counts[i] ?? 0) !== 0) last = i + 1;
    for (let i = 0; i < last; i++) counts.push(this.counts[i] ?? 0);
    return { counts, count: this.count, sum: this.sum, max: this.max };
  }
}

/** The serializable form of a histogram (sent between processes). */
export interface HistogramData {
  counts: ArrayLike<number>;
  count: number;
  sum: number;
  max: number;
}
