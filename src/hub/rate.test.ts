import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adaptiveWindowMs, RateMeter } from './rate.js';

describe('RateMeter', () => {
  it('reads zero before anything was counted', () => {
    assert.equal(new RateMeter().perSecond(1000), 0);
  });

  it('reads a steady rate as that rate per second', () => {
    const meter = new RateMeter(250);
    // 100 messages a second for two seconds: one every 10 ms.
    for (let t = 0; t < 2000; t += 10) meter.add(t);
    const rate = meter.perSecond(2000);
    assert.ok(rate > 80 && rate < 120, `rate ${rate}`);
  });

  it('forgets a burst after two quiet buckets', () => {
    const meter = new RateMeter(250);
    for (let i = 0; i < 50; i++) meter.add(0);
    assert.ok(meter.perSecond(10) >= 200);
    assert.equal(meter.perSecond(600), 0);
  });
});

describe('adaptiveWindowMs', () => {
  it('adds no delay while the room is quiet', () => {
    assert.equal(adaptiveWindowMs(0, 50), 0);
    assert.equal(adaptiveWindowMs(20, 50), 0);
  });

  it('grows with the rate up to the maximum', () => {
    const a = adaptiveWindowMs(25, 50);
    const b = adaptiveWindowMs(35, 50);
    assert.ok(a > 0 && a < b && b < 50, `${a} ${b}`);
    assert.equal(adaptiveWindowMs(40, 50), 50);
    assert.equal(adaptiveWindowMs(10_000, 50), 50);
    // A long maximum is reached only by a much hotter room.
    assert.equal(adaptiveWindowMs(40, 1000), 50);
    assert.equal(adaptiveWindowMs(420, 1000), 1000);
  });

  it('treats a single message as quiet, whatever the maximum', () => {
    const meter = new RateMeter(250);
    meter.add(1_000_000);
    assert.equal(adaptiveWindowMs(meter.perSecond(1_000_000), 1000), 0);
  });

  it('never merges with a zero maximum', () => {
    assert.equal(adaptiveWindowMs(10_000, 0), 0);
  });
});
