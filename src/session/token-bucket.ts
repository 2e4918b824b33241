/**
 * A token bucket refilled lazily from the caller's clock: `rate` tokens a second up to `burst`.
 * No timers. It is `takeToken`'s one-number bucket held in an object, for limits that are not per
 * connection (per node, per IP, per user).
 */
export class TokenBucket {
  /** When the bucket is full again (0: full); see takeToken. */
  private clock = 0;
  /** The `now` of the last take, for `msUntilNext`. */
  private lastNow: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.lastNow = now;
  }

  /** Takes one token if there is one; returns whether the action may proceed. */
  take(now: number): boolean {
    if (now > this.lastNow) this.lastNow = now;
    const clock = takeToken(this.clock, now, this.rate, this.burst);
    if (Number.isNaN(clock)) return false;
    this.clock = clock;
    return true;
  }

  /** Ms until the next token, as of the last `take` (0 when one is there): a refusal's `retryAfterMs`. */
  msUntilNext(): number {
    return tokenWaitMs(this.clock, this.lastNow, this.rate, this.burst);
  }
}

/**
 * A token bucket kept as one number, for limits held per connection, where an object per bucket
 * was most of their memory (the GCRA form of a token bucket). `clock` is when the holder's bucket
 * would be full again; 0, or any time not after `now`, is a full bucket. A take moves the clock
 * on by one token's time (1000 / rate ms, rate > 0) and is refused while the clock is more than
 * `burst - 1` tokens' time ahead of `now`: the same decisions as a bucket of `burst` tokens
 * refilled at `rate` a second (token-bucket.test.ts checks it against that model). Returns the holder's new clock, or NaN when refused (the clock then stays as it was).
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
