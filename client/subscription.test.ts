import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subscription } from './subscription.js';
import type { JoinedFrame, RoomMessage } from './types.js';

const msg = (offset: number): RoomMessage => ({
  room: 'r',
  offset,
  data: offset,
  ts: 0,
  from: null,
});
const joined = (
  epoch: string,
  offset: number,
  messages: number[],
  recovered = true,
): JoinedFrame => ({
  type: 'joined',
  room: 'r',
  online: 1,
  offset,
  epoch,
  recovered,
  messages: messages.map(msg),
});

function collect(sub: Subscription): number[] {
  const got: number[] = [];
  sub.on('message', (m) => got.push(m.offset));
  return got;
}

describe('Subscription', () => {
  it('drops messages not newer than the last seen offset', async () => {
    const sub = new Subscription('r', async () => {});
    const got = collect(sub);
    sub.applyJoined(joined('e1', 3, [1, 2, 3]), false);
    for (const o of [3, 2, 4, 4, 5, 1, 6]) sub.deliver(msg(o));
    await Promise.resolve();
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(sub.position(), { offset: 6, epoch: 'e1' });
  });

  it('queues messages until the first listener, then delivers them in order', async () => {
    const sub = new Subscription('r', async () => {});
    sub.applyJoined(joined('e1', 2, [1, 2]), false);
    sub.deliver(msg(3));
    const got = collect(sub);
    sub.deliver(msg(4)); // arrives while the queue is being handed over
    assert.deepEqual(got, []);
    await Promise.resolve();
    assert.deepEqual(got, [1, 2, 3, 4]);
  });

  it('recovers on rejoin in the same epoch without duplicates', async () => {
    const sub = new Subscription('r', async () => {});
    const got = collect(sub);
    sub.applyJoined(joined('e1', 0, []), false);
    sub.deliver(msg(1));
    sub.deliver(msg(2));
    assert.deepEqual(sub.position(), { offset: 2, epoch: 'e1' });
    const events: boolean[] = [];
    sub.on('rejoin', (e) => events.push(e.recovered));
    sub.applyJoined(joined('e1', 5, [2, 3, 4, 5]), true);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.deepEqual(events, [true]);
  });

  it('reports recovered: false on a new epoch and restarts the offsets', () => {
    const sub = new Subscription('r', async () => {});
    const got = collect(sub);
    sub.applyJoined(joined('e1', 0, []), false);
    sub.deliver(msg(7));
    const events: boolean[] = [];
    sub.on('rejoin', (e) => events.push(e.recovered));
    sub.applyJoined(joined('e2', 1, [1]), true);
    assert.deepEqual(events, [false]);
    assert.deepEqual(got, [7, 1]);
    assert.deepEqual(sub.position(), { offset: 1, epoch: 'e2' });
  });

  it('reports recovered: false when the server says so in the same epoch', () => {
    const sub = new Subscription('r', async () => {});
    sub.applyJoined(joined('e1', 0, []), false);
    const events: boolean[] = [];
    sub.on('rejoin', (e) => events.push(e.recovered));
    sub.applyJoined(joined('e1', 900, [], false), true);
    assert.deepEqual(events, [false]);
  });

  it('stops delivering once ended', () => {
    const sub = new Subscription('r', async () => {});
    const got = collect(sub);
    sub.applyJoined(joined('e1', 0, []), false);
    let ended = 0;
    sub.on('end', () => ended++);
    sub.end(null);
    sub.end(null);
    assert.equal(sub.deliver(msg(1)), false);
    assert.deepEqual(got, []);
    assert.equal(ended, 1);
  });
});
