import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adaptiveWindowMs,
  NODE_QUIET_DELIVERIES,
  nodeQuietDeliveries,
  QUIET_DELIVERIES,
  RateMeter,
} from './rate.js';

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

  it('counts weighted additions (a message and its deliveries)', () => {
    const meter = new RateMeter(250);
    for (let t = 0; t < 2000; t += 10) meter.add(t, 50);
    const rate = meter.perSecond(2000);
    assert.ok(rate > 4000 && rate < 6000, `rate ${rate}`);
  });

  it('forgets a burst after two quiet buckets', () => {
    const meter = new RateMeter(250);
    for (let i = 0; i < 50; i++) meter.add(0);
    assert.ok(meter.perSecond(10) >= 200);
    assert.equal(meter.perSecond(600), 0);
  });
});

describe('adaptiveWindowMs', () => {
  it('adds no delay while the room is cheap: up to QUIET_DELIVERIES deliveries a second', () => {
    assert.equal(adaptiveWindowMs(0, 5000, 50), 0);
    assert.equal(adaptiveWindowMs(100, 3, 50), 0, 'a 3-member room at 100/s');
    assert.equal(adaptiveWindowMs(4, 5000, 50), 0, '5000 x 4/s is exactly the mark');
    assert.equal(adaptiveWindowMs(QUIET_DELIVERIES, 1, 50), 0, 'one member, however fast');
    assert.equal(adaptiveWindowMs(100, 0, 50), 0, 'no members here');
  });

  it('merges a big room at a rate a small room sends at once', () => {
    assert.ok(adaptiveWindowMs(20, 5000, 50) > 0, '5000 members at 20/s');
    assert.equal(adaptiveWindowMs(20, 50, 50), 0, '50 members at 20/s');
  });

  it('grows with the rate and with the audience', () => {
    const byRate = [25, 50, 100, 400].map((r) => adaptiveWindowMs(r, 1000, 10_000));
    const byMembers = [1000, 2000, 5000].map((m) => adaptiveWindowMs(25, m, 10_000));
    for (const xs of [byRate, byMembers])
      for (let i = 1; i < xs.length; i++) assert.ok(xs[i]! > xs[i - 1]!, String(xs));
  });

  it('is the window that brings frames a second back to the quiet mark', () => {
    for (const [rate, members] of [
      [40, 1000],
      [20, 5000],
      [1600, 5000],
      [10_000, 3],
    ] as const) {
      const w = adaptiveWindowMs(rate, members, 10_000);
      const frames = (members * rate) / (1 + (rate * w) / 1000);
      assert.ok(Math.abs(frames - QUIET_DELIVERIES) < 1, `${rate}/s x ${members}: ${frames}`);
    }
  });

  it('is never above the maximum', () => {
    assert.equal(adaptiveWindowMs(20, 5000, 50), 50);
    assert.equal(adaptiveWindowMs(1_000_000, 1_000_000, 25), 25);
    for (let rate = 1; rate <= 2000; rate *= 2)
      for (let members = 1; members <= 100_000; members *= 3)
        assert.ok(adaptiveWindowMs(rate, members, 40) <= 40);
  });

  it('merges a sampled room above the capped flush rate, however small', () => {
    assert.equal(adaptiveWindowMs(100, 1, 50), 0);
    assert.equal(adaptiveWindowMs(15, 1, 50, 20), 0);
    assert.equal(adaptiveWindowMs(40, 1, 50, 20), 25, '1000/20 - 1000/40');
    assert.equal(adaptiveWindowMs(400, 1, 50, 20), 47.5);
  });

  it('never merges with a zero maximum', () => {
    assert.equal(adaptiveWindowMs(10_000, 10_000, 0), 0);
  });
});

describe('nodeQuietDeliveries', () => {
  it('keeps the quiet mark while the node is within its budget', () => {
    assert.equal(nodeQuietDeliveries(0), QUIET_DELIVERIES);
    assert.equal(nodeQuietDeliveries(NODE_QUIET_DELIVERIES), QUIET_DELIVERIES);
  });

  it('lowers it in proportion above the budget', () => {
    assert.equal(nodeQuietDeliveries(2 * NODE_QUIET_DELIVERIES), QUIET_DELIVERIES / 2);
    assert.equal(nodeQuietDeliveries(10 * NODE_QUIET_DELIVERIES), QUIET_DELIVERIES / 10);
    assert.equal(nodeQuietDeliveries(3000, 1000), QUIET_DELIVERIES / 3, 'another budget');
  });

  it('merges a room under the mark alone when the node is busy, within its maximum', () => {
    // 1000 members at 15/s: 15 000 deliveries a second, immediate alone.
    assert.equal(adaptiveWindowMs(15, 1000, 50), 0);
    const busy = nodeQuietDeliveries(300_000);
    const w = adaptiveWindowMs(15, 1000, 50, Number.POSITIVE_INFINITY, busy);
    assert.ok(w > 0 && w <= 50, `window ${w} ms`);
    assert.equal(adaptiveWindowMs(15, 1000, 20, Number.POSITIVE_INFINITY, busy), 20);
    // A small room stays immediate unless the node is very busy.
    assert.equal(adaptiveWindowMs(2, 10, 50, Number.POSITIVE_INFINITY, busy), 0);
  });
});
