/**
 * A room's recent message rate from two fixed buckets (the current and the previous quarter
 * second), blended by how far the current bucket has run. O(1) per message, no timers.
 */
export class RateMeter {
  private bucketStart = 0;
  private current = 0;
  private previous = 0;

  constructor(private readonly bucketMs = 250) {}

  /** Counts one message at `now`. */
  add(now: number): void {
    this.roll(now);
    this.current++;
  }

  /** Messages per second over about the last bucket. */
  perSecond(now: number): number {
    this.roll(now);
    const elapsed = Math.min(1, (now - this.bucketStart) / this.bucketMs);
    const recent = this.previous * (1 - elapsed) + this.current;
    return (recent * 1000) / this.bucketMs;
  }

  private roll(now: number): void {
    const gap = now - this.bucketStart;
    if (gap < this.bucketMs) return;
    this.previous = gap < 2 * this.bucketMs ? this.current : 0;
    this.current = 0;
    this.bucketStart = now - (gap % this.bucketMs);
  }
}

/**
 * The merge window for a room's current rate: none while the room is quiet enough to send each
 * message as its own frame at the policy's frame rate (1000 / maxWindowMs per second), then
 * growing linearly to `maxWindowMs` at four times that rate.
 */
export function adaptiveWindowMs(ratePerSecond: number, maxWindowMs: number): number {
  if (maxWindowMs <= 0) return 0;
  const quiet = 1000 / maxWindowMs;
  if (ratePerSecond <= quiet) return 0;
  return Math.min(maxWindowMs, (maxWindowMs * (ratePerSecond - quiet)) / (3 * quiet));
}
