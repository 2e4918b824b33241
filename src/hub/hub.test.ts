import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MemoryTransport } from '../../test/support/memory-transport.js';
import { messageLine, messageParts, pushLine } from '../protocol/index.js';
import { Session, type SessionLimits } from '../session/index.js';
import { Hub, type HubOptions } from './hub.js';
import type { Room, RoomPolicy } from './room.js';

const LIMITS: SessionLimits = {
  sendSoftLimitBytes: 10_000,
  sendHardLimitBytes: 100_000,
  publishRate: 10,
  publishBurst: 10,
  commandRate: 10,
  commandBurst: 10,
};
const WINDOW = 50;
const POLICIES: Record<string, RoomPolicy> = {
  merged: { mergeWindowMs: WINDOW, lossy: true },
  reliable: { mergeWindowMs: WINDOW, lossy: false },
  instant: { mergeWindowMs: 0, lossy: false },
};

interface Flush {
  room: string;
  messages: number;
  sessions: number;
  waitedMs: number;
}

/** A hub on a settable clock, with sessions on in-memory transports. */
function setup(t: TestContext, extra: Partial<HubOptions> = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = 1_000;
  const flushes: Flush[] = [];
  const options: HubOptions = {
    ...extra,
    policyFor: (name) => POLICIES[name.split(':')[0]!] ?? POLICIES.instant!,
    onFlush: (room, messages, sessions, waitedMs) =>
      flushes.push({ room: room.name, messages, sessions, waitedMs }),
    now: () => clock,
  };
  const hub = new Hub(options);
  let n = 0;
  const connect = (userId: string | null = null, events: string[] | null = null) => {
    const transport = new MemoryTransport();
    const session = new Session(`c${++n}`, '127.0.0.1', transport, LIMITS, clock);
    if (userId !== null) session.identity = { userId };
    if (events !== null) session.events = new Set(events);
    hub.addSession(session);
    if (userId !== null) hub.addUser(session);
    return { session, transport };
  };
  /** Joins a session to a room completely, as node does with an empty history at `offset`. */
  const member = (name: string, session: Session, offset = 0): Room => {
    const room = hub.join(session, name);
    hub.completeJoin(room, session, offset);
    return room;
  };
  const advance = (ms: number) => {
    clock += ms;
    t.mock.timers.tick(ms);
  };
  return { hub, flushes, connect, member, advance };
}

/** An encoded message line of a room at an offset. */
const line = (room: string, offset: number): Buffer =>
  messageLine(messageParts(room, JSON.stringify({ n: offset }), 1, null), offset);

/** An encoded message line of exactly `size` bytes (for offsets below 10). */
function sized(room: string, offset: number, size: number): Buffer {
  const base = messageLine(messageParts(room, '""', 1, null), offset).length;
  const l = messageLine(
    messageParts(room, JSON.stringify('x'.repeat(size - base)), 1, null),
    offset,
  );
  assert.equal(l.length, size);
  return l;
}

describe('Hub', () => {
  describe('#deliver and #flush', () => {
    it('merges lines arriving within the window into one frame, in order', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      for (let o = 1; o <= 5; o++) {
        hub.deliver('merged:r', o, line('merged:r', o));
        advance(5);
      }
      assert.equal(a.transport.sent.length, 0, 'nothing before the window closes');
      advance(WINDOW);
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2, 3, 4, 5]]);
    });

    it('puts the exact bytes of each line in the merged frame', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      const lines = [1, 2, 3].map((o) => line('merged:r', o));
      lines.forEach((l, i) => {
        hub.deliver('merged:r', i + 1, l);
      });
      advance(WINDOW);
      assert.deepStrictEqual(
        a.transport.sent[0],
        Buffer.concat([lines[0]!, Buffer.from('\n'), lines[1]!, Buffer.from('\n'), lines[2]!]),
      );
    });

    it('closes the window a fixed time after its first line, not after its last', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(WINDOW - 1);
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(1);
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2]]);
    });

    it('starts a new window for lines after a flush', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      hub.deliver('merged:r', 3, line('merged:r', 3));
      advance(WINDOW);
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2], [3]]);
    });

    it('flushes a batch early once it holds maxBatchBytes, and windows the rest', (t) => {
      const { hub, connect, member, advance } = setup(t, { maxBatchBytes: 300 });
      const a = connect();
      member('merged:r', a.session);
      // Each line counts its bytes plus a newline: 100 + 1 per line, so the third reaches 303.
      for (let o = 1; o <= 2; o++) hub.deliver('merged:r', o, sized('merged:r', o, 100));
      assert.equal(a.transport.sent.length, 0);
      hub.deliver('merged:r', 3, sized('merged:r', 3, 100));
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2, 3]], 'flushed without waiting');
      hub.deliver('merged:r', 4, sized('merged:r', 4, 100));
      assert.equal(a.transport.sent.length, 1);
      advance(WINDOW);
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2, 3], [4]]);
    });

    it('caps merged frames at 64 KiB by default', (t) => {
      const { hub, connect, member } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      for (let o = 1; o <= 9; o++) hub.deliver('merged:r', o, sized('merged:r', o, 8 * 1024));
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2, 3, 4, 5, 6, 7, 8]]);
      assert.ok(a.transport.sent[0]!.length <= 64 * 1024 + 8);
    });

    it('sends each line at once, one frame each, with a window of 0', (t) => {
      const { hub, connect, member } = setup(t);
      const a = connect();
      member('instant:r', a.session);
      for (let o = 1; o <= 3; o++) hub.deliver('instant:r', o, line('instant:r', o));
      assert.deepStrictEqual(a.transport.offsets(), [[1], [2], [3]]);
    });

    it('offers the same Buffer object to every member', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const sessions = [connect(), connect(), connect()];
      for (const s of sessions) member('merged:r', s.session);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      const frames = sessions.map((s) => s.transport.sent[0]);
      assert.ok(frames[0]);
      assert.equal(frames[1], frames[0]);
      assert.equal(frames[2], frames[0]);
    });

    it('passes a lone line on as the very buffer it was given', (t) => {
      const { hub, connect, member } = setup(t);
      const a = connect();
      const b = connect();
      member('instant:r', a.session);
      member('instant:r', b.session);
      const l = line('instant:r', 1);
      hub.deliver('instant:r', 1, l);
      assert.equal(a.transport.sent[0], l);
      assert.equal(b.transport.sent[0], l);
    });

    it('skips lines at or below the last offset seen (duplicates and replays)', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      const room = member('merged:r', a.session);
      for (const o of [1, 2, 2, 1, 3, 3]) hub.deliver('merged:r', o, line('merged:r', o));
      advance(WINDOW);
      hub.deliver('merged:r', 3, line('merged:r', 3));
      hub.deliver('merged:r', 4, line('merged:r', 4));
      advance(WINDOW);
      assert.deepStrictEqual(a.transport.offsets(), [[1, 2, 3], [4]]);
      assert.equal(room.messagesIn, 4);
    });

    it('passes on a gap in offsets as it is (continuity is the broker’s job)', (t) => {
      const { hub, connect, member } = setup(t);
      const a = connect();
      member('instant:r', a.session);
      hub.deliver('instant:r', 1, line('instant:r', 1));
      hub.deliver('instant:r', 7, line('instant:r', 7));
      assert.deepStrictEqual(a.transport.offsets(), [[1], [7]]);
    });

    it('ignores lines for a room it does not hold', (t) => {
      const { hub, flushes } = setup(t);
      hub.deliver('merged:nobody', 1, line('merged:nobody', 1));
      assert.equal(hub.rooms.size, 0);
      assert.equal(flushes.length, 0);
    });

    it('reports each flush: messages merged, sessions reached and the time waited', (t) => {
      const { hub, connect, member, advance, flushes } = setup(t);
      member('merged:r', connect().session);
      member('merged:r', connect().session);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(10);
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      assert.deepStrictEqual(flushes, [
        { room: 'merged:r', messages: 2, sessions: 2, waitedMs: 60 },
      ]);
    });

    it('does not flush an empty batch', (t) => {
      const { hub, connect, member, flushes } = setup(t);
      const a = connect();
      const room = member('merged:r', a.session);
      hub.flush(room);
      hub.flushAll();
      assert.equal(a.transport.sent.length, 0);
      assert.equal(flushes.length, 0);
    });

    it('flushes every pending batch at once on flushAll', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const a = connect();
      member('merged:x', a.session);
      member('reliable:y', a.session);
      hub.deliver('merged:x', 1, line('merged:x', 1));
      hub.deliver('reliable:y', 1, line('reliable:y', 1));
      hub.flushAll();
      assert.equal(a.transport.sent.length, 2);
      advance(WINDOW * 2);
      assert.equal(a.transport.sent.length, 2, 'the cancelled timers send nothing more');
    });

    it('skips a lossy frame for a member over its soft mark and counts every line', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const slow = connect();
      const fast = connect();
      member('merged:r', slow.session);
      member('merged:r', fast.session);
      slow.transport.queued = LIMITS.sendSoftLimitBytes + 1;
      for (let o = 1; o <= 3; o++) hub.deliver('merged:r', o, line('merged:r', o));
      advance(WINDOW);
      assert.equal(slow.transport.sent.length, 0);
      assert.equal(fast.transport.sent.length, 1);
      assert.equal(slow.session.dropped, 1);
      assert.equal(hub.counters.droppedSlow, 3);
    });

    it('queues a reliable frame for a member over its soft mark', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const slow = connect();
      member('reliable:r', slow.session);
      slow.transport.queued = LIMITS.sendSoftLimitBytes + 1;
      hub.deliver('reliable:r', 1, line('reliable:r', 1));
      advance(WINDOW);
      assert.equal(slow.transport.sent.length, 1);
      assert.equal(hub.counters.droppedSlow, 0);
    });

    it('closes a member over its hard mark with 4008 and counts it', (t) => {
      const { hub, connect, member } = setup(t);
      const slow = connect();
      member('instant:r', slow.session);
      slow.transport.queued = LIMITS.sendHardLimitBytes;
      hub.deliver('instant:r', 1, line('instant:r', 1));
      assert.deepStrictEqual(
        slow.transport.closes.map((c) => c.code),
        [4008],
      );
      assert.equal(hub.counters.closedSlow, 1);
      assert.equal(hub.counters.framesOut, 0);
    });
  });

  describe('membership', () => {
    it('keeps both sides in step and announces a room created by its first and emptied by its last session', (t) => {
      const events: string[] = [];
      const { hub, connect, member } = setup(t, {
        onRoomCreated: (name) => events.push(`created ${name}`),
        onRoomEmptied: (name) => events.push(`emptied ${name}`),
      });
      const a = connect();
      const b = connect();
      const room = member('merged:r', a.session);
      hub.join(b.session, 'merged:r');
      assert.deepStrictEqual(events, ['created merged:r']);
      assert.deepStrictEqual([...b.session.rooms], ['merged:r']);
      assert.equal(room.localCount, 2);
      assert.equal(hub.leave(a.session, 'merged:r'), true);
      assert.equal(hub.leave(a.session, 'merged:r'), false, 'not in it any more');
      assert.deepStrictEqual([...a.session.rooms], []);
      assert.equal(hub.leave(b.session, 'merged:r'), true, 'a join in progress is cancelled');
      assert.deepStrictEqual(events, ['created merged:r', 'emptied merged:r']);
      assert.equal(hub.rooms.has('merged:r'), false);
      member('merged:r', a.session);
      assert.equal(events.at(-1), 'created merged:r', 'a room emptied and joined again is new');
    });
  });

  describe('joins', () => {
    it('holds frames flushed during a join instead of sending them', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(WINDOW);
      assert.equal(old.transport.sent.length, 1);
      assert.equal(late.transport.sent.length, 0);
      assert.equal(room.joining.get(late.session)?.held.length, 1);
      assert.equal(room.localCount, 2);
    });

    it('passes on only the lines after the joined offset, rebuilding a straddling frame', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      for (const batch of [
        [1, 2],
        [3, 4, 5],
        [6, 7],
      ]) {
        for (const o of batch) hub.deliver('merged:r', o, line('merged:r', o));
        advance(WINDOW);
      }
      assert.equal(hub.completeJoin(room, late.session, 4), true);
      assert.deepStrictEqual(late.transport.offsets(), [[5], [6, 7]]);
      assert.equal(late.transport.sent[1], old.transport.sent[2], 'a whole later frame is shared');
      assert.ok(room.members.has(late.session));
      assert.equal(room.joining.has(late.session), false);
    });

    it('sends held frames that lie wholly after the offset unchanged', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      hub.deliver('merged:r', 3, line('merged:r', 3));
      hub.deliver('merged:r', 4, line('merged:r', 4));
      advance(WINDOW);
      hub.completeJoin(room, late.session, 2);
      assert.equal(late.transport.sent[0], old.transport.sent[0]);
    });

    it('sends nothing held when the joined reply covered every held line', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      hub.completeJoin(room, late.session, 2);
      assert.equal(late.transport.sent.length, 0);
    });

    it('delivers live frames to the session once its join completed', (t) => {
      const { hub, connect, advance } = setup(t);
      const late = connect();
      const room = hub.join(late.session, 'merged:r');
      hub.completeJoin(room, late.session, 0);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(WINDOW);
      assert.deepStrictEqual(late.transport.offsets(), [[1]]);
    });

    it('gives nothing to a session that left mid-join, and reports the join cancelled', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(WINDOW);
      assert.equal(hub.leave(late.session, 'merged:r'), true);
      assert.ok(hub.rooms.has('merged:r'), 'the room still has a member');
      assert.equal(hub.completeJoin(room, late.session, 0), false);
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      assert.equal(late.transport.sent.length, 0);
      assert.equal(room.members.has(late.session), false);
    });

    it('gives nothing to a session that disconnected mid-join', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const old = connect();
      const late = connect();
      const room = member('merged:r', old.session);
      hub.join(late.session, room.name);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      advance(WINDOW);
      hub.removeSession(late.session);
      assert.equal(hub.completeJoin(room, late.session, 0), false);
      assert.equal(late.transport.sent.length, 0);
    });
  });

  describe('#deliverToUser', () => {
    it('sends the line to the user only, after the pending batch; others see the offset skipped', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const author = connect('carol');
      const other = connect('dan');
      const joining = connect('carol');
      const room = member('merged:r', author.session);
      member('merged:r', other.session);
      hub.join(joining.session, 'merged:r');
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.deliverToUser('merged:r', 2, line('merged:r', 2), 'carol');
      hub.deliver('merged:r', 3, line('merged:r', 3));
      advance(WINDOW);
      assert.deepStrictEqual(author.transport.offsets(), [[1], [2], [3]]);
      assert.deepStrictEqual(other.transport.offsets(), [[1], [3]]);
      hub.completeJoin(room, joining.session, 1);
      assert.deepStrictEqual(joining.transport.offsets(), [[2], [3]], 'held for the joiner');
      hub.deliverToUser('merged:r', 2, line('merged:r', 2), 'carol');
      assert.equal(author.transport.sent.length, 3, 'an old offset is a duplicate');
    });
  });

  describe('#pushToUser', () => {
    it('sends to every connection of the user that takes the event, and counts them', (t) => {
      const { hub, connect } = setup(t);
      const all = connect('alice');
      const alerts = connect('alice', ['alert']);
      const chats = connect('alice', ['chat']);
      const bob = connect('bob');
      const frame = pushLine('alert', '{"x":1}', 1);
      assert.equal(hub.pushToUser('alice', 'alert', frame), 2);
      assert.equal(all.transport.sent[0], frame);
      assert.equal(alerts.transport.sent[0], frame);
      assert.equal(chats.transport.sent.length, 0);
      assert.equal(bob.transport.sent.length, 0);
    });

    it('reaches nobody for a user without connections here', (t) => {
      const { hub, connect } = setup(t);
      connect('alice');
      assert.equal(hub.pushToUser('carol', 'alert', pushLine('alert', '1', 1)), 0);
    });

    it('queues a push (reliable) for a connection over its soft mark', (t) => {
      const { hub, connect } = setup(t);
      const a = connect('alice');
      a.transport.queued = LIMITS.sendSoftLimitBytes + 1;
      assert.equal(hub.pushToUser('alice', 'e', pushLine('e', '1', 1)), 1);
      assert.equal(a.transport.sent.length, 1);
    });

    it('does not count a connection it had to close for being too slow', (t) => {
      const { hub, connect } = setup(t);
      const slow = connect('alice');
      connect('alice');
      slow.transport.queued = LIMITS.sendHardLimitBytes;
      assert.equal(hub.pushToUser('alice', 'e', pushLine('e', '1', 1)), 1);
      assert.equal(hub.counters.closedSlow, 1);
    });
  });

  describe('#broadcast', () => {
    it('sends to every connection that takes the event, anonymous ones included', (t) => {
      const { hub, connect } = setup(t);
      const anon = connect();
      const alice = connect('alice');
      const filtered = connect('bob', ['other']);
      const frame = pushLine('news', '"hi"', 1);
      assert.equal(hub.broadcast('news', frame), 2);
      assert.equal(anon.transport.sent[0], frame);
      assert.equal(alice.transport.sent[0], frame);
      assert.equal(filtered.transport.sent.length, 0);
    });

    it('does not count closed connections', (t) => {
      const { hub, connect } = setup(t);
      connect();
      connect().session.close(1000, 'bye');
      assert.equal(hub.broadcast('news', pushLine('news', '1', 1)), 1);
    });
  });

  describe('#sendToRoom', () => {
    it('sends to members only, not to sessions mid-join', (t) => {
      const { hub, connect, member } = setup(t);
      const a = connect();
      const joining = connect();
      const room = member('merged:r', a.session);
      hub.join(joining.session, room.name);
      assert.equal(hub.sendToRoom('merged:r', Buffer.from('{"type":"presence"}'), true), 1);
      assert.equal(joining.transport.sent.length, 0);
      assert.equal(hub.sendToRoom('merged:none', Buffer.from('{}'), true), 0);
    });
  });

  describe('users', () => {
    it('tells the first and the last connection of a user', (t) => {
      const { hub, connect } = setup(t);
      const a = connect();
      a.session.identity = { userId: 'alice' };
      const b = connect();
      b.session.identity = { userId: 'alice' };
      assert.equal(hub.addUser(a.session), true);
      assert.equal(hub.addUser(b.session), false);
      assert.equal(hub.removeUser(a.session), false);
      assert.equal(hub.removeUser(a.session), false, 'removing twice is no last');
      assert.equal(hub.removeUser(b.session), true);
      assert.equal(hub.users.has('alice'), false);
    });

    it('does not index anonymous sessions', (t) => {
      const { hub, connect } = setup(t);
      const anon = connect();
      assert.equal(hub.addUser(anon.session), false);
      assert.equal(hub.users.size, 0);
    });
  });

  describe('#removeSession', () => {
    it('leaves every room, dropping and announcing those it left empty', (t) => {
      const created: string[] = [];
      const emptied: string[] = [];
      const { hub, connect, member } = setup(t, {
        onRoomCreated: (name) => created.push(name),
        onRoomEmptied: (name) => emptied.push(name),
      });
      const a = connect('alice');
      const b = connect('bob');
      member('merged:alone', a.session);
      member('merged:shared', a.session);
      member('merged:shared', b.session);
      const result = hub.removeSession(a.session);
      assert.deepStrictEqual(result, { lastOfUser: true });
      assert.deepStrictEqual(created, ['merged:alone', 'merged:shared']);
      assert.deepStrictEqual(emptied, ['merged:alone']);
      assert.deepStrictEqual([...hub.rooms.keys()], ['merged:shared']);
      assert.equal(hub.rooms.get('merged:shared')?.members.has(a.session), false);
      assert.equal(a.session.rooms.size, 0);
      assert.equal(hub.sessions.has(a.session), false);
    });

    it('says whether the session was its user’s last here', (t) => {
      const { hub, connect } = setup(t);
      const a1 = connect('alice');
      const a2 = connect('alice');
      assert.equal(hub.removeSession(a1.session).lastOfUser, false);
      assert.equal(hub.removeSession(a2.session).lastOfUser, true);
      assert.equal(hub.removeSession(connect().session).lastOfUser, false, 'anonymous');
    });

    it('cancels the pending batch of a room it emptied', (t) => {
      const { hub, connect, member, advance, flushes } = setup(t);
      const a = connect();
      member('merged:r', a.session);
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.removeSession(a.session);
      advance(WINDOW * 2);
      assert.equal(flushes.length, 0);
      assert.equal(a.transport.sent.length, 0);
    });

    it('no longer reaches the session by broadcast or push', (t) => {
      const { hub, connect } = setup(t);
      const a = connect('alice');
      hub.removeSession(a.session);
      assert.equal(hub.broadcast('e', pushLine('e', '1', 1)), 0);
      assert.equal(hub.pushToUser('alice', 'e', pushLine('e', '1', 1)), 0);
    });
  });

  describe('counters', () => {
    it('counts frames and messages per session reached', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const sessions = [connect('u1'), connect('u2'), connect('u3')];
      for (const s of sessions) member('merged:r', s.session);
      for (let o = 1; o <= 4; o++) hub.deliver('merged:r', o, line('merged:r', o));
      advance(WINDOW);
      assert.deepStrictEqual(hub.counters, {
        messagesOut: 12,
        framesOut: 3,
        droppedSlow: 0,
        closedSlow: 0,
        sampledOut: 0,
      });
      hub.pushToUser('u1', 'e', pushLine('e', '1', 1));
      hub.broadcast('e', pushLine('e', '1', 1));
      assert.equal(hub.counters.framesOut, 3 + 1 + 3);
      assert.equal(hub.counters.messagesOut, 12 + 1 + 3);
    });

    it('counts dropped messages per line and per slow session', (t) => {
      const { hub, connect, member, advance } = setup(t);
      const slow1 = connect();
      const slow2 = connect();
      const ok = connect();
      for (const s of [slow1, slow2, ok]) member('merged:r', s.session);
      slow1.transport.queued = LIMITS.sendSoftLimitBytes + 1;
      slow2.transport.queued = LIMITS.sendSoftLimitBytes + 1;
      hub.deliver('merged:r', 1, line('merged:r', 1));
      hub.deliver('merged:r', 2, line('merged:r', 2));
      advance(WINDOW);
      assert.deepStrictEqual(hub.counters, {
        messagesOut: 2,
        framesOut: 1,
        droppedSlow: 4,
        closedSlow: 0,
        sampledOut: 0,
      });
    });
  });
});
