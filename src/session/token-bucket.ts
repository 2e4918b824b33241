/**
 * A token bucket refilled lazily from the caller's clock: `rate` tokens a second up to `burst`.
 * No timers; one per limited action per connection.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token if there is one; returns whether the action may proceed. */
  take(now: number): boolean {
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.updatedAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Ms until the next token, as of the last `take` (0 when one is there): a refusal's `retryAfterMs`. */
  msUntilNext(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}

/**
 * The same bucket kept as one number, for limits held per connection, where an object per bucket
 * was most of their memory (the GCRA form of a token bucket). `clock` is when the holder's bucket
 * would be full again; 0, or any time not after `now`, is a full bucket. A take moves the clock
 * on by one token's time (1000 / rate ms, rate > 0) and is refused while the clock is more than
 * `burst - 1` tokens' time ahead of `now`: the same decisions as a TokenBucket of that rate and
 * burst. Returns the holder's new clock, or NaN when refused (the clock then stays as it was).
 */
export function takeToken(clock: number, now: number, rate: number, burst: number): number {
  const tokenMs = 1000 / rate;
  const start = clock > now ? clock : now;
  return start - now <= (burst - 1) * tokenMs ? start + tokenMs : Number.NaN;
}

/** Ms until `takeToken` would allow a take (0: now), for a refusal's `retryAfterMs`. */
export function tokenWaitMs(clock: number, now: number, rate: number, burst: number): number {
  const start = clock > now ? clock : now;
  return Math.max(0, Math.ceil(start - now - (burst - 1) * (1000 / rate)));
}
