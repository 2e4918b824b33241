/**
 * The adaptive merge window as the hub applies it: driven by a room's deliveries a second
 * (members x rate), bounded by the policy's maximum, and lossless in reliable rooms. A settable
 * clock and mocked timers make every case exact; nothing here measures time.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MemoryTransport } from '../../test/support/memory-transport.js';
import { messageLine, messageParts } from '../protocol/index.js';
import { Session, type SessionLimits } from '../session/index.js';
import { Hub } from './hub.js';
import { NODE_QUIET_DELIVERIES } from './rate.js';
import type { RoomPolicy } from './room.js';

const LIMITS: SessionLimits = {
  sendSoftLimitBytes: 10_000,
  sendHardLimitBytes: 100_000,
  publishRate: 10,
  publishBurst: 10,
  commandRate: 10,
  commandBurst: 10,
};
const MAX_WINDOW = 50;
const RELIABLE: RoomPolicy = { mergeWindowMs: MAX_WINDOW, adaptive: true, lossy: false };

/** A hub whose every room has `policy`, on a settable clock, and a way to fill a room. */
function setup(t: TestContext, policy: RoomPolicy = RELIABLE) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  let clock = 1_000;
  const waits: number[] = [];
  const hub = new Hub({
    policyFor: () => policy,
    onFlush: (_room, _messages, _sessions, waitedMs) => waits.push(waitedMs),
    now: () => clock,
  });
  let n = 0;
  /** `count` members of `room`; returns their transports. */
  const fill = (room: string, count: number): MemoryTransport[] => {
    const out: MemoryTransport[] = [];
    for (let i = 0; i < count; i++) {
      const transport = new MemoryTransport();
      const session = new Session(`c${++n}`, '127.0.0.1', transport, LIMITS, clock);
      hub.addSession(session);
      hub.completeJoin(hub.join(session, room), session, 0);
      out.push(transport);
    }
    return out;
  };
  // A millisecond at a time, so a timer fires with the clock at its own time.
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock++;
      t.mock.timers.tick(1);
    }
  };
  /** Ends the event loop's turn: what was read in it and has no window is flushed. */
  const endOfTurn = () => t.mock.timers.tick(0);
  /**
   * Publishes `count` messages `gapMs` apart from offset `from`, each in its own turn of the event
   * loop; returns, per message, how many frames `watch` had at the end of that turn.
   */
  const publish = (
    room: string,
    from: number,
    count: number,
    gapMs: number,
    watch: MemoryTransport,
    size = 0,
  ): number[] => {
    const seen: number[] = [];
    for (let o = from; o < from + count; o++) {
      hub.deliver(room, o, line(room, o, size));
      endOfTurn();
      seen.push(watch.sent.length);
      advance(gapMs);
    }
    return seen;
  };
  return { hub, waits, fill, advance, publish, endOfTurn };
}

/** An encoded message line of a room at an offset, with `size` bytes of padding. */
const line = (room: string, offset: number, size = 0): Buffer =>
  messageLine(
    messageParts(room, JSON.stringify({ n: offset, x: 'x'.repeat(size) }), 1, null),
    offset,
  );

/** Every offset a transport received, in order. */
const received = (t: MemoryTransport): number[] => t.offsets().flat();
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('Hub adaptive window', () => {
  it('sends each message at once in a small room, even at 100 messages/s', (t) => {
    const { fill, publish } = setup(t);
    const [a] = fill('chat-1', 3);
    // 3 members x 100/s = 300 deliveries/s: far below the quiet mark.
    const seen = publish('chat-1', 1, 200, 10, a!);
    assert.deepEqual(seen, range(1, 200), 'every message was its own frame, sent at once');
  });

  it('merges in a 5000-member room at 20 messages/s, and loses nothing', (t) => {
    const { fill, publish, advance } = setup(t);
    const members = fill('r0', 5000);
    const a = members[0]!;
    // Warm up for a second at 20/s: 100 000 deliveries a second once the meter has seen it.
    publish('r0', 1, 20, 50, a);
    const before = a.sent.length;
    const seen = publish('r0', 21, 1, 0, a);
    assert.equal(seen[0], before, 'the message waits in a window instead of going out alone');
    advance(MAX_WINDOW);
    assert.equal(a.sent.length, before + 1, 'and goes out when the window closes');
    for (const m of [a, members[2500]!, members[4999]!])
      assert.deepEqual(received(m), range(1, 21));
  });

  it('merges a big room at 40 messages/s into fewer frames than messages', (t) => {
    const { fill, publish, advance } = setup(t);
    const [a, b] = fill('chat-big', 2000);
    publish('chat-big', 1, 80, 25, a!);
    advance(MAX_WINDOW);
    assert.deepEqual(received(a!), range(1, 80));
    assert.deepEqual(received(b!), range(1, 80));
    assert.ok(a!.sent.length < 70, `${a!.sent.length} frames for 80 messages`);
  });

  it('never holds a batch longer than the policy maximum', (t) => {
    const { fill, publish, advance, waits } = setup(t);
    const [a] = fill('r0', 5000);
    // Rates from 4/s to 1000/s, each for half a second.
    let offset = 1;
    for (const gap of [250, 100, 50, 20, 10, 5, 1]) {
      const count = Math.ceil(500 / gap);
      publish('r0', offset, count, gap, a!);
      offset += count;
    }
    advance(MAX_WINDOW);
    assert.ok(
      waits.some((w) => w > 0),
      'some batches waited',
    );
    assert.ok(
      waits.every((w) => w <= MAX_WINDOW),
      `longest wait ${Math.max(...waits)} ms`,
    );
    assert.deepEqual(received(a!), range(1, offset - 1));
  });

  it('adds no delay to a lone message after a quiet spell, however big the room', (t) => {
    const { fill, publish, advance } = setup(t);
    const [a] = fill('r0', 5000);
    publish('r0', 1, 40, 25, a!);
    advance(2000);
    const before = a!.sent.length;
    assert.deepEqual(publish('r0', 41, 1, 0, a!), [before + 1]);
  });

  it('merges a small room whose member is sampled to a render budget, so sampling has a choice', (t) => {
    const { hub, publish, advance } = setup(t);
    const transport = new MemoryTransport();
    const viewer = new Session('v', '127.0.0.1', transport, LIMITS, 0);
    hub.addSession(viewer);
    hub.completeJoin(hub.join(viewer, 'chat-1', 10), viewer, 0);
    // 1 member x 100/s is cheap, but its budget is 10/s: batches let the sampler pick fairly.
    const seen = publish('chat-1', 1, 100, 10, transport);
    advance(MAX_WINDOW);
    assert.ok(
      seen.some((frames, i) => frames < seen[i - 1]! + 1),
      'some message waited',
    );
    assert.ok(transport.sent.length < 50, `${transport.sent.length} frames for 100 messages`);
  });

  it('shows a sender of one line a second beside a flood, to a viewer budgeted below both', (t) => {
    const { hub, advance } = setup(t);
    const transport = new MemoryTransport();
    const viewer = new Session('v', '127.0.0.1', transport, LIMITS, 0);
    hub.addSession(viewer);
    hub.completeJoin(hub.join(viewer, 'chat-1', 10), viewer, 0);
    // One second: 'loud' writes 4 lines every 10 ms (400/s), 'quiet' one line every 100 ms.
    let offset = 0;
    const say = (who: string) => {
      offset++;
      hub.deliver('chat-1', offset, messageLine(messageParts('chat-1', '{}', 1, who), offset));
    };
    for (let ms = 0; ms < 1000; ms += 10) {
      for (let k = 0; k < 4; k++) say('loud');
      if (ms % 100 === 50) say('quiet');
      advance(10);
    }
    advance(MAX_WINDOW);
    const shown = transport.sent
      .flatMap((f) => f.toString().split('\n'))
      .filter((l) => l.includes('"type":"message"'));
    const quiet = shown.filter((l) => l.includes('"from":"quiet"')).length;
    const loud = shown.length - quiet;
    // Max-min fairness gives each about half of the 10 a second. Before a batch could take a
    // line on credit, only quiet lines that fell in a batch with a whole line of credit showed.
    assert.ok(quiet >= 4, `quiet shown ${quiet} of 10 (loud ${loud})`);
    assert.ok(loud >= 4, `loud shown ${loud}`);
    // The budget still holds once the room's rate is known (its first ~100 ms pass more while the
    // rate is measured): 0.8 s after the first 200 ms (offset 82) is 8 lines, and one on credit.
    const offsetOf = (l: string) => Number(/"offset":(\d+)/.exec(l)?.[1]);
    const late = shown.filter((l) => offsetOf(l) > 82).length;
    assert.ok(late <= 8 + 1, `${late} lines in the last 0.8 s for a budget of 10 a second`);
  });

  it("returns a member's own message sampled out of a frame sent at once", (t) => {
    const { hub, publish, advance } = setup(t);
    const transport = new MemoryTransport();
    const poster = new Session('p', '127.0.0.1', transport, LIMITS, 0);
    poster.identity = { userId: 'carol' };
    hub.addSession(poster);
    hub.addUser(poster);
    hub.completeJoin(hub.join(poster, 'chat-1', 1), poster, 0);
    // 5/s with a budget of 1/s: sampled, but far below the flush cap, so sent at once.
    publish('chat-1', 1, 10, 200, transport);
    // Four of its own in a row earn the tier at most one message of quota.
    const before = transport.sent.length;
    for (let o = 11; o <= 14; o++) {
      hub.deliver('chat-1', o, messageLine(messageParts('chat-1', '{"mine":1}', 1, 'carol'), o));
      advance(200);
    }
    const got = transport.sent.slice(before).flatMap((f) => f.toString().split('\n'));
    assert.equal(
      got.filter((l) => l.includes('"mine"')).length,
      4,
      'its own lines reached it although sampled out before their publish was acknowledged',
    );
  });

  it('sends what one turn of the event loop read as one frame, even at window 0', (t) => {
    const { hub, fill, endOfTurn, waits } = setup(t);
    const [a] = fill('r0', 5000);
    // A backlog: five messages read in one turn (the process was busy while they arrived).
    for (let o = 1; o <= 5; o++) hub.deliver('r0', o, line('r0', o));
    assert.equal(a!.sent.length, 0);
    endOfTurn();
    assert.deepEqual(a!.offsets(), [[1, 2, 3, 4, 5]]);
    assert.deepEqual(waits, [0], 'no time passed: no delay added');
  });

  it('waits the whole window when the policy is fixed', (t) => {
    const { fill, publish, advance } = setup(t, { ...RELIABLE, adaptive: false });
    const [a] = fill('r0', 1);
    assert.deepEqual(publish('r0', 1, 1, 0, a!), [0]);
    advance(MAX_WINDOW);
    assert.equal(a!.sent.length, 1);
  });

  it('closes a member that cannot keep up in a merged reliable room (4008), never skipping it silently', (t) => {
    const { hub, fill, publish, advance } = setup(t);
    const members = fill('r0', 5000);
    const [slow, reader] = [members[0]!, members[1]!];
    // 50/s of 1 kB messages; everyone but `slow` reads all it is sent.
    let offset = 1;
    for (let round = 0; round < 40; round++) {
      publish('r0', offset, 10, 20, reader, 1000);
      offset += 10;
      for (const m of members) if (m !== slow) m.drain();
    }
    advance(MAX_WINDOW);
    assert.deepEqual(slow.closes, [{ code: 4008, reason: 'too slow' }]);
    assert.equal(hub.counters.closedSlow, 1);
    assert.equal(hub.counters.droppedSlow, 0, 'a reliable room drops nothing');
    // What the slow member got is a gap-free prefix: it resumes with `since` from its end.
    const got = received(slow);
    assert.deepEqual(got, range(1, got.length));
    assert.deepEqual(received(reader), range(1, offset - 1));
  });

  describe('on a busy node', () => {
    const ROOMS = 10;
    /**
     * `rooms` rooms of 100 members, each at about 167 messages/s (a message every 6 ms): 16 700
     * deliveries a second, under the quiet mark alone. Then one more message in room 0: returns
     * whether it was sent at the end of its turn, and what every room's first member received.
     */
    const run = (t: TestContext, rooms: number) => {
      const { hub, fill, advance, endOfTurn, waits } = setup(t);
      const first = Array.from({ length: rooms }, (_, r) => fill(`room-${r}`, 100)[0]!);
      let offset = 0;
      for (let k = 1; k <= 200; k++) {
        offset = k;
        for (let r = 0; r < rooms; r++) hub.deliver(`room-${r}`, k, line(`room-${r}`, k));
        endOfTurn();
        advance(6);
      }
      const load = hub.deliveriesPerSecond();
      const before = first[0]!.sent.length;
      hub.deliver('room-0', offset + 1, line('room-0', offset + 1));
      endOfTurn();
      const atOnce = first[0]!.sent.length === before + 1;
      advance(MAX_WINDOW);
      return { atOnce, load, waits, first, last: offset };
    };

    it('sends at once in one room under the quiet mark', (t) => {
      const { atOnce, load } = run(t, 1);
      assert.ok(load > 12_000 && load < 20_000, `room alone: ${load} deliveries/s`);
      assert.equal(atOnce, true);
    });

    it('merges rooms each under the quiet mark once they add up to over the node budget', (t) => {
      const { atOnce, load, waits, first, last } = run(t, ROOMS);
      // 10 x 16 700 = 167 000 deliveries a second, over the budget of 100 000: each room's quiet
      // mark falls to 20 000 x 100 000 / 167 000 = 12 000, under the rooms' 16 700.
      assert.ok(load > NODE_QUIET_DELIVERIES, `node: ${load} deliveries/s`);
      assert.equal(atOnce, false, 'the message waits in a window');
      assert.ok(
        waits.every((w) => w <= MAX_WINDOW),
        `never above the policy maximum: ${Math.max(...waits)} ms`,
      );
      assert.deepEqual(received(first[0]!), range(1, last + 1), 'and nothing is lost');
      for (const m of first.slice(1)) assert.deepEqual(received(m), range(1, last));
    });
  });
});
