import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryCounter, nowMs, readNumber } from './counter.js';

/** A counter whose measurement starts now. */
function startedCounter(): DeliveryCounter {
  const c = new DeliveryCounter();
  c.reset(nowMs());
  return c;
}

/** The `message` line of sequence number `s` in `room`, its data sent at `t` (generator's clock). */
const messageLine =
  (room: string, t: number) =>
  (s: number): string =>
    `{"type":"message","room":${JSON.stringify(room)},"offset":${s},"data":{"t":${t},"s":${s},"p":0},"ts":1,"from":null}`;

describe('DeliveryCounter', () => {
  it('reads the numbers after "t": without JSON.parse', () => {
    assert.equal(readNumber(Buffer.from('x1795000000000.125,'), 1), 1795000000000.125);
    assert.equal(readNumber(Buffer.from('42}'), 0), 42);
    assert.ok(Number.isNaN(readNumber(Buffer.from('"a"'), 0)));
  });

  it('counts every delivery of a merged frame and ignores control frames', () => {
    const c = startedCounter();
    const line = messageLine('live:a', nowMs() - 5);
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

  it('counts a frame equal to the last one like the first (the memo), and a changed one anew', () => {
    const c = startedCounter();
    const line = messageLine('r0', nowMs() - 5);
    const frame = [line(1), line(2), line(3)].join('\n');
    assert.equal(c.onFrame(Buffer.from(frame)), 3);
    assert.equal(c.onFrame(Buffer.from(frame)), 3);
    // Same length, one byte different (a line missing its newline would be a different count).
    assert.equal(c.onFrame(Buffer.from(frame.replace('\n{', ' {'))), 2);
    assert.equal(c.onFrame(Buffer.from('{"type":"ping"}')), 0);
    const s = c.snapshot();
    assert.equal(s.received, 8);
    assert.equal(s.frames, 3);
    assert.equal(s.latency.count, 8);
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

  const message = (s: number, t: number, room = 'r0'): string =>
    `{"type":"message","room":"${room}","offset":${s},"data":{"t":${t},"s":${s},"p":0,"x":"xxxx"},"ts":1,"from":null}`;

  it('counts a merged frame by its lines and takes the latency of its first (oldest) message', () => {
    const c = new DeliveryCounter();
    c.reset(nowMs());
    const now = nowMs();
    // The oldest message was sent 80 ms ago, the others 1 ms ago: all three count as 80 ms.
    const frame = [message(1, now - 80), message(2, now - 1), message(3, now - 1)].join('\n');
    assert.equal(c.onFrame(Buffer.from(frame)), 3);
    const s = c.snapshot();
    assert.equal(s.latency.count, 3, 'one latency value per delivery');
    assert.ok(s.latency.max >= 80_000 && s.latency.max < 5_000_000, `max ${s.latency.max} us`);
    assert.ok(
      s.latency.sum >= 3 * 80_000,
      'every delivery of the frame carries the oldest latency',
    );
  });

  it('does not count a trailing line that is not a delivery (skipped, or a trailing newline)', () => {
    const c = new DeliveryCounter();
    const t = nowMs();
    const skipped = '{"type":"skipped","room":"live:a","count":17}';
    assert.equal(c.onFrame(Buffer.from(`${message(1, t)}\n${message(2, t)}\n${skipped}`)), 2);
    assert.equal(c.onFrame(Buffer.from(`${message(3, t)}\n`)), 1);
    assert.equal(
      c.onFrame(Buffer.from(`{"type":"presence","room":"r0","online":2}\n${message(4, t)}`)),
      1,
    );
    assert.equal(c.snapshot().received, 4);
  });

  it('detects a lost message exactly: a batch missing one line counts one less', () => {
    // Two members of a room; 5 messages published, so 10 deliveries are expected. The second
    // member's batch lacks message 3 (as if the server had dropped it).
    const c = new DeliveryCounter();
    c.reset(nowMs());
    const t = nowMs();
    const all = [1, 2, 3, 4, 5].map((s) => message(s, t));
    c.onFrame(Buffer.from(all.slice(0, 2).join('\n')));
    c.onFrame(Buffer.from(all.slice(2).join('\n')));
    c.onFrame(Buffer.from(all.filter((_, i) => i !== 2).join('\n')));
    const expected = 5 * 2;
    assert.equal(c.snapshot().received, expected - 1);
    assert.equal(c.snapshot().frames, 3);
  });

  it('counts the peers one message a frame, and SSE events by their data', () => {
    const c = new DeliveryCounter();
    c.reset(nowMs());
    const t = nowMs() - 30;
    assert.equal(
      c.onFrame(Buffer.from(`{"type":"message","room":"r0","data":{"t":${t},"s":1,"p":0}}`)),
      1,
    );
    assert.equal(
      c.onFrame(Buffer.from(`42["message",{"room":"r0","data":{"t":${t},"s":2,"p":0}}]`)),
      1,
    );
    assert.equal(c.onFrame(Buffer.from('2')), 0, 'an Engine.IO ping');
    const sse = [1, 2, 3].map((s) => `event: message\ndata: ${message(s, t)}\n\n`).join('');
    const events = `${sse}event: presence\ndata: {"type":"presence","room":"r0","online":2}\n\nid: abc\n\n`;
    assert.equal(c.onEvents(Buffer.from(events)), 3);
    assert.equal(c.onEvents(Buffer.from('id: abc\n\n')), 0);
    const s = c.snapshot();
    assert.equal(s.received, 5);
    assert.equal(s.frames, 3);
    assert.ok(s.latency.max >= 30_000, `max ${s.latency.max} us`);
  });
});
