import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop delay over a rolling window: p99 of the delays seen since the window began; the
 * window restarts when it is read after `windowMs`.
 */
export class EventLoopDelay {
  private readonly histogram: IntervalHistogram;
  private windowStart = Date.now();

  constructor(private readonly windowMs = 10_000) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
  }

  /** p99 of the event-loop delay in the current window, ms. */
  p99Ms(): number {
    // Samples include the sampling interval itself (resolution 10 ms): subtract it.
    const value =
      this.histogram.count > 0 ? Math.max(0, this.histogram.percentile(99) / 1e6 - 10) : 0;
    if (Date.now() - this.windowStart >= this.windowMs) {
      this.histogram.reset();
      this.windowStart = Date.now();
    }
    return Math.round(value * 100) / 100;
  }

  /** Stops sampling. */
  stop(): void {
    this.histogram.disable();
  }
}
