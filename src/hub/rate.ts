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

/** Below this many messages a second a room is quiet: each message goes out at once. */
export const QUIET_RATE = 20;

/**
 * The merge window for a room's current rate: none while the room is quiet (at most `quietRate`
 * messages a second, so a member gets at most that many frames a second anyway), then growing
 * with the rate, one quiet interval (1000 / quietRate ms) per quiet rate above it, up to
 * `maxWindowMs`. Frames per member per second thus stay near `quietRate` as the room heats up.
 */
export function adaptiveWindowMs(
  ratePerSecond: number,
  maxWindowMs: number,
  quietRate = QUIET_RATE,
): number {
  if (maxWindowMs <= 0 || ratePerSecond <= quietRate) return 0;
  return Math.min(maxWindowMs, ((1000 / quietRate) * (ratePerSecond - quietRate)) / quietRate);
}
