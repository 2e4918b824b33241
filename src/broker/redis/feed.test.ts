import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryResult } from '../types.js';
import { RoomFeed } from './feed.js';

/** A feed over an in-test stream of lines `m<offset>` (what Redis would hold). */
function harness(held: { epoch: string; offset: number; oldest: number; replaced?: number }) {
  const delivered: number[] = [];
  const resyncs: string[] = [];
  const fetches: number[] = [];
  const rolledBack: string[] = [];
  const feed = new RoomFeed({
    async fetchSince(_room, epoch, offset): Promise<HistoryResult> {
      fetches.push(offset);
      const recovered = epoch === held.epoch && offset <= held.offset && held.oldest <= offset + 1;
      const lines = [];
      if (recovered)
        for (let o = offset + 1; o <= held.offset; o++) {
          // `replaced`: a failover lost that message and the offset went to another one.
          lines.push(Buffer.from(o === held.replaced ? `x${o}` : `m${o}`));
        }
      return { epoch: held.epoch, offset: held.offset, recovered, lines };
    },
    deliver: (_room, offset, line) => {
      assert.equal(line.toString(), `m${offset}`);
      delivered.push(offset);
    },
    resync: (room) => resyncs.push(room),
    rolledBack: (room, epoch) => rolledBack.push(`${room}@${epoch}`),
  });
  const live = (offset: number, epoch = held.epoch) =>
    feed.onMessage('r', offset, epoch, Buffer.from(`m${offset}`));
  return { feed, live, delivered, resyncs, fetches, rolledBack };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('redis broker room feed', () => {
  it('delivers in order, drops duplicates, fills a gap from history', async () => {
    const h = harness({ epoch: 'E', offset: 6, oldest: 1 });
    h.feed.add('r');
    h.live(1);
    h.live(2);
    h.live(2);
    h.live(5); // 3 and 4 missing
    h.live(6); // arrives during the catch-up
    await settle();
    assert.deepEqual(h.delivered, [1, 2, 3, 4, 5, 6]);
    // From one before the last delivered: the stream must still hold that same message.
    assert.deepEqual(h.fetches, [1]);
    assert.deepEqual(h.resyncs, []);
  });

  it('after a lost subscription, catches up when the stream still holds the last message delivered', async () => {
    const h = harness({ epoch: 'E', offset: 4, oldest: 1 });
    h.feed.add('r');
    h.live(1);
    h.live(2);
    h.feed.markAllStale();
    h.feed.recover('r');
    await settle();
    assert.deepEqual(h.delivered, [1, 2, 3, 4]);
    assert.deepEqual([h.resyncs, h.rolledBack], [[], []]);
  });

  it('resyncs and starts the room over when a failover handed a delivered offset to another message', async () => {
    // Delivered m1, m2; Redis lost m2 and gave offset 2 to x2 (then 3 came).
    const h = harness({ epoch: 'E', offset: 3, oldest: 1, replaced: 2 });
    h.feed.add('r');
    h.live(1);
    h.live(2);
    h.feed.markAllStale();
    h.feed.recover('r');
    await settle();
    assert.deepEqual(h.delivered, [1, 2]); // neither x2 nor 3 taken as continuing m2
    assert.deepEqual(h.resyncs, ['r']);
    assert.deepEqual(h.rolledBack, ['r@E']);
    // The room starts over with a new epoch: its first message is taken as such.
    h.live(1, 'F');
    assert.deepEqual(h.delivered, [1, 2, 1]);
  });

  it('resyncs and starts the room over when Redis is behind what was delivered', async () => {
    const h = harness({ epoch: 'E', offset: 1, oldest: 1 });
    h.feed.add('r');
    h.live(1);
    h.live(2); // Redis lost 2
    h.feed.markAllStale();
    h.feed.recover('r');
    await settle();
    assert.deepEqual([h.resyncs, h.rolledBack], [['r'], ['r@E']]);
  });

  it('resyncs when history no longer holds the gap, and on a new epoch', async () => {
    const h = harness({ epoch: 'E', offset: 9, oldest: 8 });
    h.feed.add('r');
    h.live(1);
    h.live(9);
    await settle();
    assert.deepEqual(h.resyncs, ['r']);
    assert.deepEqual(h.delivered, [1]); // 9 is at the room's position after the resync
    h.live(10);
    h.live(1, 'F');
    h.live(2, 'F');
    assert.deepEqual(h.delivered, [1, 10, 1, 2]);
    assert.deepEqual(h.resyncs, ['r', 'r']);
  });

  it('after a lost subscription, catches up from the last delivered or the settled position', async () => {
    const h = harness({ epoch: 'E', offset: 4, oldest: 1 });
    h.feed.add('r');
    h.feed.add('quiet');
    h.feed.add('unknown');
    h.live(1);
    await h.feed.settle('quiet', 'E', 2, 1000);
    h.feed.markAllStale();
    h.live(5); // buffered: the subscription is not confirmed as back yet
    h.feed.recover('r');
    h.feed.recover('quiet');
    h.feed.recover('unknown');
    await settle();
    assert.deepEqual(h.delivered, [1, 2, 3, 4, 5, 3, 4]);
    assert.deepEqual(h.resyncs, ['unknown']);
  });

  it('starts a room that delivered nothing at the position a joiner read: no duplicate', async () => {
    const h = harness({ epoch: 'E', offset: 9, oldest: 1 });
    h.feed.add('r');
    await h.feed.settle('r', 'E', 7, 1000); // the joiner's history holds 1..7
    h.live(6); // published before the read, arriving after it: in that history already
    h.live(7);
    h.live(8);
    await settle();
    assert.deepEqual(h.delivered, [8]);
    assert.deepEqual(h.fetches, []);
  });

  it('makes a joiner that read ahead of the feed wait until the feed delivered up to it', async () => {
    const h = harness({ epoch: 'E', offset: 9, oldest: 1 });
    h.feed.add('r');
    h.live(1);
    let settled = false;
    const waiting = h.feed.settle('r', 'E', 3, 5000).then(() => {
      settled = true;
    });
    await settle();
    assert.equal(settled, false, 'offsets 2 and 3 are still on their way');
    h.live(2);
    await settle();
    assert.equal(settled, false);
    h.live(3);
    await waiting;
    assert.deepEqual(h.delivered, [1, 2, 3]);
    // Another epoch, or a position already reached: at once; a feed that never gets there: timeout.
    await h.feed.settle('r', 'F', 10, 5000);
    await h.feed.settle('r', 'E', 2, 5000);
    const started = Date.now();
    await h.feed.settle('r', 'E', 5, 50);
    assert.ok(Date.now() - started >= 40);
  });
});
