import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryTransport } from '../../test/support/memory-transport.js';
import { Hub } from '../hub/hub.js';
import { messageLine, messageParts } from '../protocol/index.js';
import { Session } from '../session/index.js';

const LIMITS = {
  sendSoftLimitBytes: 1e4,
  sendHardLimitBytes: 1e5,
  publishRate: 1,
  publishBurst: 1,
  commandRate: 1,
  commandBurst: 1,
};
const line = (o: number) => messageLine(messageParts('live:r', '{}', 1, null), o);

describe('Hub', () => {
  describe('#completeJoin', () => {
    it('does not send a joiner the lines of a pending batch that its joined offset covered', (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const hub = new Hub({ policyFor: () => ({ mergeWindowMs: 50, lossy: true }), now: () => 0 });
      const old = new Session('a', '127.0.0.1', new MemoryTransport(), LIMITS, 0);
      const lateT = new MemoryTransport();
      const late = new Session('b', '127.0.0.1', lateT, LIMITS, 0);
      const room = hub.join(old, 'live:r');
      hub.completeJoin(room, old, 0);
      hub.deliver('live:r', 1, line(1)); // pending in the 50 ms window
      hub.join(late, 'live:r'); // join starts; broker history already holds offset 1
      hub.completeJoin(room, late, 1); // joined reply said offset 1 (message 1 in its history)
      t.mock.timers.tick(50); // the window closes
      const offsets = lateT.sent.flatMap((f) =>
        f
          .toString()
          .split('\n')
          .map((l) => JSON.parse(l).offset),
      );
      assert.deepStrictEqual(offsets, [], 'offset 1 was already in the joined reply');
    });
  });
});
