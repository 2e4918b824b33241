import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryTransport } from '../../test/support/memory-transport.js';
import { CLOSE } from '../protocol/index.js';
import { Liveness, SendResult, Session, type SessionLimits } from './session.js';

const SOFT = 1000;
const HARD = 4000;
const LIMITS: SessionLimits = {
  sendSoftLimitBytes: SOFT,
  sendHardLimitBytes: HARD,
  publishRate: 2,
  publishBurst: 3,
  commandRate: 100,
  commandBurst: 5,
};
const T0 = 1_000_000;
const HB = 1000;

function open(limits: SessionLimits = LIMITS): { s: Session; t: MemoryTransport } {
  const t = new MemoryTransport();
  return { s: new Session('c1', '127.0.0.1', t, limits, T0), t };
}

const bytes = (n: number): Buffer => Buffer.alloc(n, 0x61);

describe('Session', () => {
  describe('#send', () => {
    it('queues a frame on the transport and stamps lastSentAt', () => {
      const { s, t } = open();
      const frame = bytes(10);
      assert.equal(s.send(frame, false, T0 + 5), SendResult.Sent);
      assert.equal(t.sent.length, 1);
      assert.equal(t.sent[0], frame, 'the very buffer is handed over, not a copy');
      assert.equal(s.lastSentAt, T0 + 5);
    });

    it('sends a lossy frame while the queue is at the soft mark', () => {
      const { s, t } = open();
      t.queued = SOFT;
      assert.equal(s.send(bytes(10), true, T0), SendResult.Sent);
    });

    it('drops a lossy frame over the soft mark, counts it and leaves lastSentAt alone', () => {
      const { s, t } = open();
      t.queued = SOFT + 1;
      assert.equal(s.send(bytes(10), true, T0 + 50), SendResult.Dropped);
      assert.equal(s.send(bytes(10), true, T0 + 60), SendResult.Dropped);
      assert.equal(t.sent.length, 0);
      assert.equal(s.dropped, 2);
      assert.equal(s.lastSentAt, T0);
      assert.equal(s.closed, false);
    });

    it('resumes lossy delivery once the queue drains below the soft mark', () => {
      const { s, t } = open();
      t.queued = SOFT + 1;
      assert.equal(s.send(bytes(10), true, T0), SendResult.Dropped);
      t.drain();
      assert.equal(s.send(bytes(10), true, T0), SendResult.Sent);
      assert.equal(s.dropped, 1);
    });

    it('queues reliable frames over the soft mark up to the hard mark', () => {
      const { s, t } = open();
      t.queued = SOFT + 1;
      const results = [];
      while (t.queued + 100 <= HARD) results.push(s.send(bytes(100), false, T0));
      assert.ok(results.length > 20);
      assert.ok(results.every((r) => r === SendResult.Sent));
      assert.equal(s.dropped, 0);
      assert.equal(s.closed, false);
    });

    it('sends a frame that brings the queue exactly to the hard mark', () => {
      const { s, t } = open();
      t.queued = HARD - 10;
      assert.equal(s.send(bytes(10), false, T0), SendResult.Sent);
      assert.equal(t.queued, HARD);
    });

    it('closes with 4008 when a reliable frame would take the queue over the hard mark', () => {
      const { s, t } = open();
      t.queued = HARD - 10;
      assert.equal(s.send(bytes(11), false, T0), SendResult.ClosedSlow);
      assert.deepStrictEqual(t.closes, [{ code: 4008, reason: 'too slow' }]);
      assert.equal(s.closed, true);
      assert.equal(s.closeCode, CLOSE.tooSlow.code);
      assert.equal(t.sent.length, 0);
    });

    it('drops a lossy frame over the hard mark instead of closing the session', () => {
      const { s, t } = open();
      t.queued = HARD + 1;
      assert.equal(s.send(bytes(1), true, T0), SendResult.Dropped);
      assert.equal(s.closed, false);
      assert.equal(t.closes.length, 0);
      assert.equal(s.dropped, 1);
    });

    it('takes a lossy frame at the soft mark even when it goes past the hard mark', () => {
      const { s, t } = open();
      t.queued = SOFT;
      assert.equal(s.send(bytes(HARD), true, T0), SendResult.Sent);
      assert.equal(s.closed, false);
      assert.equal(s.send(bytes(1), true, T0), SendResult.Dropped, 'but nothing lossy after it');
    });

    it('closes with 4008 on a reliable frame once lossy traffic filled the queue', () => {
      const { s, t } = open();
      t.queued = SOFT;
      s.send(bytes(HARD), true, T0);
      assert.equal(s.send(bytes(1), false, T0), SendResult.ClosedSlow);
      assert.equal(s.closeCode, 4008);
    });

    it('sends one frame larger than the hard mark when nothing is queued', () => {
      const { s, t } = open();
      assert.equal(s.send(bytes(HARD * 2), false, T0), SendResult.Sent);
      assert.equal(s.closed, false);
      assert.equal(s.send(bytes(1), false, T0), SendResult.ClosedSlow, 'but nothing after it');
      assert.equal(t.sent.length, 1);
    });

    it('sends nothing after close, whatever the class', () => {
      const { s, t } = open();
      s.close(1000, 'bye');
      assert.equal(s.send(bytes(1), false, T0), SendResult.Closed);
      assert.equal(s.send(bytes(1), true, T0), SendResult.Closed);
      assert.equal(t.sent.length, 0);
      assert.equal(s.dropped, 0);
    });

    it('sends nothing after a 4008 close, and closes only once', () => {
      const { s, t } = open();
      t.queued = HARD;
      assert.equal(s.send(bytes(1), false, T0), SendResult.ClosedSlow);
      t.drain();
      assert.equal(s.send(bytes(1), false, T0), SendResult.Closed);
      assert.equal(t.closes.length, 1);
      assert.equal(t.sent.length, 0);
    });
  });

  describe('#close', () => {
    it('is idempotent: the first code wins and the transport is closed once', () => {
      const { s, t } = open();
      s.close(4501, 'unauthorized');
      s.close(1001, 'server shutting down');
      s.closeWith(CLOSE.tooSlow);
      assert.deepStrictEqual(t.closes, [{ code: 4501, reason: 'unauthorized' }]);
      assert.equal(s.closeCode, 4501);
    });

    it('closes with a catalogue code and its default reason', () => {
      const { s, t } = open();
      s.closeWith(CLOSE.authTimeout);
      assert.deepStrictEqual(t.closes, [{ code: 4002, reason: 'auth timeout' }]);
    });

    it('closes with a catalogue code and a given reason', () => {
      const { s, t } = open();
      s.closeWith(CLOSE.unauthorized, 'token expired');
      assert.deepStrictEqual(t.closes, [{ code: 4501, reason: 'token expired' }]);
    });
  });

  describe('#terminate', () => {
    it('marks an open session closed with 1006 and destroys the transport', () => {
      const { s, t } = open();
      s.terminate();
      assert.equal(s.closed, true);
      assert.equal(s.closeCode, 1006);
      assert.equal(t.terminations, 1);
      assert.equal(t.closes.length, 0, 'no closing handshake for a dead peer');
      assert.equal(s.send(bytes(1), false, T0), SendResult.Closed);
    });

    it('keeps the code of an earlier close', () => {
      const { s, t } = open();
      s.close(4008, 'too slow');
      s.terminate();
      assert.equal(s.closeCode, 4008);
      assert.equal(t.terminations, 1);
    });
  });

  describe('#accepts', () => {
    it('takes every event while no events filter is set', () => {
      const { s } = open();
      assert.equal(s.accepts('alert'), true);
      assert.equal(s.accepts('anything'), true);
    });

    it('takes only the events of its filter', () => {
      const { s } = open();
      s.events = new Set(['alert']);
      assert.equal(s.accepts('alert'), true);
      assert.equal(s.accepts('chat'), false);
    });

    it('takes nothing with an empty filter', () => {
      const { s } = open();
      s.events = new Set();
      assert.equal(s.accepts('alert'), false);
    });
  });

  describe('#userId', () => {
    it('is null when anonymous and the identity user id once authenticated', () => {
      const { s } = open();
      assert.equal(s.userId, null);
      s.identity = { userId: 'alice' };
      assert.equal(s.userId, 'alice');
    });
  });

  describe('stalled send queue', () => {
    const STALL = 300;
    const stallLimits = { ...LIMITS, sendStallTimeoutMs: STALL };
    // Lossy frames into a queue over the soft mark are skipped: the queue never grows again.
    const fill = (s: Session, t: MemoryTransport, at: number) => {
      s.send(bytes(SOFT + 1), true, at);
      assert.equal(s.send(bytes(10), true, at), SendResult.Dropped);
      return t;
    };

    it('is Stalled once the queue has drained nothing for the stall timeout', () => {
      const { s, t } = open(stallLimits);
      fill(s, t, T0);
      s.lastHeardAt = T0 + STALL;
      assert.equal(s.liveness(T0 + 10, 10 * HB, null), Liveness.Fine);
      assert.equal(s.liveness(T0 + 10 + STALL - 1, 10 * HB, null), Liveness.Fine);
      assert.equal(s.liveness(T0 + 10 + STALL, 10 * HB, null), Liveness.Stalled);
    });

    it('is never Stalled while the queue drains, however slowly', () => {
      const { s, t } = open(stallLimits);
      fill(s, t, T0);
      for (let i = 1; i <= 20; i++) {
        const at = T0 + i * STALL;
        t.queued -= 1; // one byte read
        s.send(bytes(5), false, at); // and refilled with more than was read
        s.lastHeardAt = at;
        assert.equal(s.liveness(at, 100 * HB, null), Liveness.Fine, `check ${i}`);
      }
      assert.ok(t.queued > SOFT, 'the queue never emptied');
    });

    it('is not Stalled with an empty queue, nor when the timeout is 0', () => {
      const { s } = open(stallLimits);
      assert.equal(s.liveness(T0 + 10 * STALL, 100 * HB, null), Liveness.Fine);
      const never = open({ ...LIMITS, sendStallTimeoutMs: 0 });
      fill(never.s, never.t, T0);
      never.s.lastHeardAt = T0 + 10 * STALL;
      assert.equal(never.s.liveness(T0 + 1, 100 * HB, null), Liveness.Fine);
      assert.equal(never.s.liveness(T0 + 10 * STALL, 100 * HB, null), Liveness.Fine);
    });
  });

  describe('#liveness', () => {
    it('probes a busy listener it has heard nothing from for a heartbeat, once per heartbeat', () => {
      const { s, t } = open();
      // The server keeps sending (a busy room), the client only listens.
      s.lastSentAt = T0 + HB;
      assert.equal(s.liveness(T0 + HB, HB, null), Liveness.NeedsProbe);
      s.probe(T0 + HB);
      assert.equal(t.pings, 1);
      assert.equal(s.liveness(T0 + HB + 1, HB, null), Liveness.Fine);
      // Its WebSocket stack answers the protocol ping: heard again, nothing more to do.
      s.lastHeardAt = T0 + HB + 5;
      s.lastSentAt = T0 + 2 * HB;
      assert.equal(s.liveness(T0 + 2 * HB, HB, null), Liveness.Fine);
    });

    it('is fine right after connecting', () => {
      const { s } = open();
      assert.equal(s.liveness(T0, HB, null), Liveness.Fine);
    });

    it('asks for a ping once nothing was sent for a heartbeat', () => {
      const { s } = open();
      assert.equal(s.liveness(T0 + HB - 1, HB, null), Liveness.Fine);
      assert.equal(s.liveness(T0 + HB, HB, null), Liveness.NeedsPing);
    });

    it('counts the quiet from the last frame sent', () => {
      const { s } = open();
      s.lastHeardAt = T0 + 800;
      s.send(bytes(1), false, T0 + 800);
      assert.equal(s.liveness(T0 + 800 + HB - 1, HB, null), Liveness.Fine);
      assert.equal(s.liveness(T0 + 800 + HB, HB, null), Liveness.NeedsPing);
    });

    it('does not count a dropped frame as sent', () => {
      const { s, t } = open();
      t.queued = SOFT + 1;
      s.send(bytes(1), true, T0 + 900);
      assert.equal(s.liveness(T0 + HB, HB, null), Liveness.NeedsPing);
    });

    it('declares the session dead after two heartbeats without hearing from it', () => {
      const { s } = open();
      assert.equal(s.liveness(T0 + 2 * HB, HB, null), Liveness.NeedsPing);
      assert.equal(s.liveness(T0 + 2 * HB + 1, HB, null), Liveness.Dead);
    });

    it('stays alive while the client keeps talking, however long ago we sent', () => {
      const { s } = open();
      s.lastHeardAt = T0 + 10 * HB;
      assert.equal(s.liveness(T0 + 11 * HB, HB, null), Liveness.NeedsPing);
    });

    it('is not kept alive by our own sends', () => {
      const { s } = open();
      s.send(bytes(1), false, T0 + 2 * HB);
      assert.equal(s.liveness(T0 + 2 * HB + 1, HB, null), Liveness.Dead);
    });

    it('times out an unauthenticated session only after the auth deadline', () => {
      const { s } = open();
      const deadline = T0 + 500;
      assert.equal(s.liveness(deadline, HB, deadline), Liveness.Fine);
      assert.equal(s.liveness(deadline + 1, HB, deadline), Liveness.AuthTimeout);
    });

    it('never times out auth when auth is not required', () => {
      const { s } = open();
      s.lastHeardAt = T0 + 5 * HB;
      assert.equal(s.liveness(T0 + 5 * HB, HB, null), Liveness.NeedsPing);
    });

    it('does not time out an authenticated session', () => {
      const { s } = open();
      s.identity = { userId: 'alice' };
      assert.equal(s.liveness(T0 + 600, HB, T0 + 500), Liveness.Fine);
    });

    it('reports a dead peer before an auth timeout', () => {
      const { s } = open();
      assert.equal(s.liveness(T0 + 3 * HB, HB, T0 + 500), Liveness.Dead);
    });

    it('reports expiry once the credential expires', () => {
      const { s } = open();
      s.identity = { userId: 'alice', expiresAt: T0 + 300 };
      assert.equal(s.liveness(T0 + 299, HB, null), Liveness.Fine);
      assert.equal(s.liveness(T0 + 300, HB, null), Liveness.Expired);
    });

    it('reports expiry before a due ping', () => {
      const { s } = open();
      s.lastHeardAt = T0 + HB;
      s.identity = { userId: 'alice', expiresAt: T0 + 300 };
      assert.equal(s.liveness(T0 + HB, HB, null), Liveness.Expired);
    });

    it('never expires an identity without expiresAt', () => {
      const { s } = open();
      s.identity = { userId: 'alice' };
      s.lastHeardAt = T0 + 100 * HB;
      assert.equal(s.liveness(T0 + 100 * HB, HB, null), Liveness.NeedsPing);
    });
  });

  describe('rate limits', () => {
    it('gives publishes their own bucket with the configured burst', () => {
      const { s } = open();
      const taken = Array.from({ length: 5 }, () => s.takePublish(T0));
      assert.deepStrictEqual(taken, [true, true, true, false, false]);
      assert.equal(s.takeCommand(T0), true, 'commands are limited separately');
    });

    it('refills the publish bucket at the publish rate', () => {
      const { s } = open();
      for (let i = 0; i < 3; i++) s.takePublish(T0);
      assert.equal(s.takePublish(T0 + 499), false);
      assert.equal(s.publishWaitMs(T0 + 499), 1);
      assert.equal(s.takePublish(T0 + 500), true);
    });
  });
});
