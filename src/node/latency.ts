/**
 * The latest samples of a latency, kept in a fixed ring so percentiles cost nothing on the hot
 * path: recording is one store; computing sorts a copy (only when stats are read).
 */
export class LatencySamples {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity = 2048) {
    this.samples = new Float64Array(capacity);
  }

  /** Records one sample, in ms. */
  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  /** The q-quantile (0..1) of the held samples, in ms; 0 when there are none. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const sorted = this.samples.slice(0, this.count).sort();
    return sorted[Math.min(this.count - 1, Math.floor(q * this.count))]!;
  }
}
