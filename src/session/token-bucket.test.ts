import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket, takeToken, tokenWaitMs } from './token-bucket.js';

const T0 = 5_000;

/** Takes `n` times at `now` and returns how many succeeded. */
function takeMany(bucket: TokenBucket, n: number, now: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(now)) ok++;
  return ok;
}

describe('TokenBucket', () => {
  describe('#take', () => {
    it('starts full: a burst of takes succeeds at once, the next one fails', () => {
      const bucket = new TokenBucket(10, 20, T0);
      assert.equal(takeMany(bucket, 20, T0), 20);
      assert.equal(bucket.take(T0), false);
    });

    it('refills one token per 1/rate seconds', () => {
      const bucket = new TokenBucket(10, 5, T0);
      takeMany(bucket, 5, T0);
      assert.equal(bucket.take(T0 + 99), false);
      assert.equal(bucket.take(T0 + 100), true);
      assert.equal(bucket.take(T0 + 100), false);
      assert.equal(bucket.take(T0 + 200), true);
    });

    it('accumulates fractional refill across calls', () => {
      const bucket = new TokenBucket(10, 1, T0);
      bucket.take(T0);
      assert.equal(bucket.take(T0 + 50), false);
      assert.equal(bucket.take(T0 + 100), true, 'two half tokens make one');
    });

    it('does not charge for refused takes', () => {
      const bucket = new TokenBucket(10, 1, T0);
      bucket.take(T0);
      for (let t = 1; t < 100; t++) assert.equal(bucket.take(T0 + t), false);
      assert.equal(bucket.take(T0 + 100), true);
    });

    it('refills no more than the burst after a long idle time', () => {
      const bucket = new TokenBucket(10, 3, T0);
      takeMany(bucket, 3, T0);
      assert.equal(takeMany(bucket, 10, T0 + 3_600_000), 3);
    });

    it('sustains exactly the rate over time', () => {
      const bucket = new TokenBucket(50, 1, T0);
      let ok = 0;
      for (let t = 0; t <= 10_000; t += 5) if (bucket.take(T0 + t)) ok++;
      // 1 from the initial burst + 50/s for 10 s.
      assert.equal(ok, 501);
    });

    it('supports rates below one per second', () => {
      const bucket = new TokenBucket(0.5, 1, T0);
      bucket.take(T0);
      assert.equal(bucket.take(T0 + 1999), false);
      assert.equal(bucket.take(T0 + 2000), true);
    });

    it('grants nothing when the clock goes backwards', () => {
      const bucket = new TokenBucket(10, 2, T0);
      takeMany(bucket, 2, T0);
      assert.equal(bucket.take(T0 - 10_000), false);
      assert.equal(bucket.take(T0 + 99), false, 'the step back did not move the refill base');
      assert.equal(bucket.take(T0 + 100), true);
    });
  });

  describe('#msUntilNext', () => {
    it('is 0 while a token is there, then the time until the next one refills', () => {
      const bucket = new TokenBucket(10, 2, T0);
      assert.equal(bucket.msUntilNext(), 0);
      takeMany(bucket, 3, T0);
      assert.equal(bucket.msUntilNext(), 100);
      assert.equal(bucket.take(T0 + 40), false);
      assert.equal(bucket.msUntilNext(), 60);
      assert.equal(bucket.take(T0 + 100), true);
    });
  });
});

/** The textbook bucket, tokens as a float refilled on each take: the model takeToken must match. */
class ReferenceBucket {
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

  msUntilNext(): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}

describe('takeToken', () => {
  it('makes the same decisions and waits as a float token bucket of the same rate and burst', () => {
    // A seeded walk of takes at irregular times, over a few shapes of limit.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (const [rate, burst] of [
      [10, 20],
      [2, 1],
      [0.5, 3],
      [1000, 5000],
      [7, 0.5],
    ] as const) {
      const bucket = new ReferenceBucket(rate, burst, T0);
      let clock = 0;
      let now = T0;
      let allowed = 0;
      for (let i = 0; i < 5000; i++) {
        // Real-valued times: the two differ only by float rounding exactly at a boundary.
        now += random() * (2000 / rate);
        const next = takeToken(clock, now, rate, burst);
        const ok = !Number.isNaN(next);
        assert.equal(ok, bucket.take(now), `rate ${rate} burst ${burst} take ${i} at ${now}`);
        if (ok) {
          clock = next;
          allowed++;
        } else {
          // Both round up a fractional wait; float rounding may put them 1 ms apart.
          const wait = tokenWaitMs(clock, now, rate, burst);
          assert.ok(Math.abs(wait - bucket.msUntilNext()) <= 1, `wait ${wait}`);
        }
      }
      if (burst >= 1) assert.ok(allowed > 0, 'some takes were allowed');
    }
  });

  it('starts full (clock 0) and refuses past the burst until a token is back', () => {
    let clock = 0;
    for (let i = 0; i < 3; i++) clock = takeToken(clock, T0, 10, 3);
    assert.equal(clock, T0 + 300);
    assert.ok(Number.isNaN(takeToken(clock, T0, 10, 3)));
    assert.equal(tokenWaitMs(clock, T0, 10, 3), 100);
    assert.ok(Number.isNaN(takeToken(clock, T0 + 99, 10, 3)));
    assert.equal(takeToken(clock, T0 + 100, 10, 3), T0 + 400);
  });
});
