import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryCounter, nowMs, readNumber } from './counter.js';

describe('DeliveryCounter', () => {
  it('reads the numbers after "t": without JSON.parse', () => {
    assert.equal(readNumber(Buffer.from('x1795000000000.125,'), 1), 1795000000000.125);
    assert.equal(readNumber(Buffer.from('42}'), 0), 42);
    assert.ok(Number.isNaN(readNumber(Buffer.from('"a"'), 0)));
  });

  it('counts every delivery of a merged frame and ignores control frames', () => {
    const c = new DeliveryCounter();
    c.reset(nowMs());
    const t = nowMs() - 5;
    const line = (s: number): string =>
      `{"type":"message","room":"live:a","offset":${s},"data":{"t":${t},"s":${s},"p":0},"ts":1,"from":null}`;
    assert.equal(c.onFrame(Buffer.from([line(1), line(2), line(3)].join('\n'))), 3);
    assert.equal(c.onFrame(Buffer.from('{"type":"presence","room":"live:a","online":3}')), 0);
    assert.equal(c.onFrame(Buffer.from('{"type":"ping"}')), 0);
    const s = c.snapshot();
    assert.equal(s.received, 3);
    assert.equal(s.frames, 1);
    assert.equal(s.latency.count, 3);
    assert.ok(s.latency.max >= 5000 && s.latency.max < 5_000_000, `latency ${s.latency.max} us`);
    assert.equal(s.timeline[0], 3);
  });

  it('with trackFirst, records each message once: its first delivery (the first device)', () => {
    const c = new DeliveryCounter();
    c.trackFirst();
    c.reset(nowMs());
    const push = (s: number, t: number): Buffer =>
      Buffer.from(
        `{"type":"push","event":"bench","data":{"t":${t},"s":${s},"p":0},"ts":1,"alert":"A${s}"}`,
      );
    const t = nowMs() - 5;
    c.onFrame(push(7, t)); // device 1
    c.onFrame(push(7, t)); // device 2: the same alert again
    c.onFrame(push(8, t));
    const s = c.snapshot();
    assert.equal(s.received, 3, 'every device counts as a delivery');
    assert.equal(s.first?.count, 2, 'two alerts, each counted at its first arrival');
    c.reset(nowMs());
    c.onFrame(push(7, t));
    assert.equal(c.snapshot().first?.count, 1, 'a reset forgets the sequence numbers seen');
    assert.equal(new DeliveryCounter().snapshot().first, null, 'off unless asked for');
  });
});
