import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKETS, bucketOf, bucketValue, Histogram } from './histogram.js';

describe('Histogram', () => {
  it('maps values to buckets within 1% and keeps buckets in order', () => {
    let last = -1;
    for (const v of [0, 1, 255, 256, 1000, 12_345, 1e6, 5e8]) {
      const b = bucketOf(v);
      assert.ok(b > last && b < BUCKETS, `bucket of ${v}`);
      last = b;
      assert.ok(Math.abs(bucketValue(b) - v) <= Math.max(0.5, v * 0.01), `value of ${v}`);
    }
    assert.equal(bucketOf(1e15), BUCKETS - 1);
  });

  it('reports quantiles, max and mean, and merges serialized histograms', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).record(i * 100);
    a.merge(b.toData());
    assert.equal(a.count, 1000);
    assert.ok(Math.abs(a.quantile(0.5) - 50_000) < 600);
    assert.ok(Math.abs(a.quantile(0.99) - 99_000) < 1100);
    assert.equal(a.quantile(1), 100_000);
    assert.equal(a.max, 100_000);
    assert.equal(a.mean(), 50_050);
    a.reset();
    assert.equal(a.quantile(0.5), 0);
  });
});
