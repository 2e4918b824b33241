import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, resolveBackoff, serverRetryAfter } from './backoff.js';

describe('backoffDelay', () => {
  const opts = resolveBackoff({ initialMs: 100, maxMs: 5_000, factor: 2 });

  it('stays within [nominal / 2, nominal] for every attempt and any randomness', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const nominal = Math.min(5_000, 100 * 2 ** attempt);
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const d = backoffDelay(attempt, opts, () => r);
        assert.ok(d >= nominal / 2 && d <= nominal, `attempt ${attempt} r ${r}: ${d}`);
      }
    }
  });

  it('grows exponentially and is capped at maxMs', () => {
    const top = (a: number) => backoffDelay(a, opts, () => 0.999999);
    assert.equal(top(0), 100);
    assert.equal(top(1), 200);
    assert.equal(top(3), 800);
    assert.equal(top(10), 5_000);
    assert.equal(top(10_000), 5_000);
  });

  it('spreads clients out (jitter) with the real random source', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(backoffDelay(5, opts));
    assert.ok(seen.size > 10, `only ${seen.size} distinct delays`);
  });

  it('refuses nonsense settings', () => {
    assert.throws(() => resolveBackoff({ initialMs: 0 }), TypeError);
    assert.throws(() => resolveBackoff({ initialMs: 10, maxMs: 5 }), TypeError);
    assert.throws(() => resolveBackoff({ factor: 0.5 }), TypeError);
    assert.deepEqual(resolveBackoff({ maxMs: undefined }), {
      initialMs: 500,
      maxMs: 30_000,
      factor: 2,
    });
  });
});

describe('serverRetryAfter', () => {
  it('reads numbers and close reasons', () => {
    assert.equal(serverRetryAfter(1500), 1500);
    assert.equal(serverRetryAfter('overloaded; retry after 5000'), 5000);
    assert.equal(serverRetryAfter('retryAfterMs=250'), 250);
    assert.equal(serverRetryAfter('retry-after: 42'), 42);
    assert.equal(serverRetryAfter('server shutting down'), undefined);
    assert.equal(serverRetryAfter(-1), undefined);
    assert.equal(serverRetryAfter(undefined), undefined);
  });
});
