import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer, waitFor } from '../support/server.js';

// Offsets, epochs and recovery with `since`: all or nothing.
describe('Recovery', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const clients: TestClient[] = [];
  const connect = async () => {
    const c = await TestClient.connect(server.wsUrl);
    clients.push(c);
    return c;
  };
  const publish = (room: string, data: unknown) =>
    api(server, 'POST', '/api/publish', { room, data });

  before(async () => {
    server = await startServer({ historySize: 5 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('recovers every missed message after a reconnect, in order, recovered: true', async () => {
    const first = await connect();
    const joined = await first.request({ type: 'join', room: 'chat:full' });
    await publish('chat:full', 'a');
    const seen = await first.next((m) => m.type === 'message');
    first.close();
    await publish('chat:full', 'b');
    await publish('chat:full', 'c');
    const again = await connect();
    const rejoined = await again.request({
      type: 'join',
      room: 'chat:full',
      since: { offset: seen.offset, epoch: joined.epoch },
    });
    assert.equal(rejoined.recovered, true);
    assert.equal(rejoined.offset, 3);
    const missed = rejoined.messages as Record<string, unknown>[];
    assert.deepEqual(
      missed.map((m) => [m.offset, m.data]),
      [
        [2, 'b'],
        [3, 'c'],
      ],
    );
  });

  it('recovers nothing when nothing was missed: recovered: true, no messages', async () => {
    const c = await connect();
    const joined = await c.request({ type: 'join', room: 'chat:none' });
    const again = await connect();
    const rejoined = await again.request({
      type: 'join',
      room: 'chat:none',
      since: { offset: joined.offset, epoch: joined.epoch },
    });
    assert.equal(rejoined.recovered, true);
    assert.deepEqual(rejoined.messages, []);
  });

  it('refuses a partial recovery when the gap is larger than history: recovered: false, nothing', async () => {
    const c = await connect();
    const joined = await c.request({ type: 'join', room: 'chat:gap' });
    for (let i = 0; i < 8; i++) await publish('chat:gap', i);
    const rejoined = await c.request({
      type: 'join',
      room: 'chat:gap2',
      since: { offset: 0, epoch: joined.epoch },
    });
    assert.equal(rejoined.recovered, false, 'another room, another epoch');
    const again = await connect();
    const r = await again.request({
      type: 'join',
      room: 'chat:gap',
      since: { offset: 1, epoch: joined.epoch },
    });
    assert.equal(r.recovered, false);
    assert.deepEqual(r.messages, []);
    assert.equal(r.offset, 8);
  });

  it('refuses recovery from another epoch, and gives history instead when asked', async () => {
    await publish('chat:epoch', 'x');
    await publish('chat:epoch', 'y');
    const c = await connect();
    const r = await c.request({
      type: 'join',
      room: 'chat:epoch',
      since: { offset: 1, epoch: 'old-epoch' },
      history: 1,
    });
    assert.equal(r.recovered, false);
    assert.deepEqual(
      (r.messages as Record<string, unknown>[]).map((m) => m.data),
      ['y'],
    );
  });

  it('refuses recovery from an offset in the future', async () => {
    const c = await connect();
    const joined = await c.request({ type: 'join', room: 'chat:future' });
    const again = await connect();
    const r = await again.request({
      type: 'join',
      room: 'chat:future',
      since: { offset: 99, epoch: joined.epoch },
    });
    assert.equal(r.recovered, false);
  });

  it('caps history at what is held', async () => {
    for (let i = 0; i < 7; i++) await publish('chat:cap', i);
    const c = await connect();
    const r = await c.request({ type: 'join', room: 'chat:cap', history: 100 });
    assert.deepEqual(
      (r.messages as Record<string, unknown>[]).map((m) => m.data),
      [2, 3, 4, 5, 6],
    );
  });

  it('neither loses nor repeats messages published while a join is in flight', async () => {
    const c = await connect();
    const room = 'live:join-race';
    await publish(room, -1);
    // Publishes run before, during and after the join: the publisher keeps going, five requests
    // in flight at a time, until five batches have been acknowledged after the join's reply.
    let joinAnswered = false;
    let batchesAfterJoin = 0;
    let sent = 0;
    const publishing = (async () => {
      for (let batch = 0; batch < 400 && batchesAfterJoin < 5; batch++) {
        await Promise.all(Array.from({ length: 5 }, () => publish(room, sent++)));
        if (joinAnswered) batchesAfterJoin++;
      }
    })();
    await waitFor(() => sent >= 10, 'the publisher to be under way');
    const joined = await c.request({ type: 'join', room, history: 100 });
    joinAnswered = true;
    await publishing;
    await publish(room, 'end');
    await c.next((m) => m.type === 'message' && m.data === 'end');
    const historyLines = joined.messages as Record<string, unknown>[];
    const liveLines = c.all('message');
    const history = historyLines.map((m) => m.offset as number);
    const live = liveLines.map((m) => m.offset as number);
    const all = [...history, ...live];
    const last = all[all.length - 1]!;
    assert.deepEqual(
      all,
      Array.from({ length: last - all[0]! + 1 }, (_, i) => all[0]! + i),
      'consecutive, no gap, no repeat',
    );
    // The join really fell inside the stream: publishes of the loop on both sides of it.
    const fromLoop = (m: Record<string, unknown>) => typeof m.data === 'number' && m.data >= 0;
    assert.ok(historyLines.some(fromLoop), 'the history holds publishes from before the join');
    assert.ok(liveLines.some(fromLoop), 'live delivery holds publishes from after the join');
  });
});
