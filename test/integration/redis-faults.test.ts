/**
 * The Redis broker under faults, against a real redis-server: a killed and restarted Redis, a
 * dropped subscriber connection (missed messages caught up from the stream, or a resync when the
 * stream no longer holds them), and an offset gap on a live room.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBroker, type RedisBrokerOptions } from '../../src/broker/redis/index.js';
import { RedisKeys } from '../../src/broker/redis/keys.js';
import { type Broker, BrokerUnavailableError } from '../../src/broker/types.js';
import { eventually, partsOf, Recorder, roomName } from '../contract/broker-contract.js';
import { freePort, type RedisProcess, startRedis } from '../support/redis-server.js';

let redis: RedisProcess;
let admin: Redis;
let run = 0;

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.connect();
});

after(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Two started brokers ('a' and 'b') with their recorders, on a fresh prefix. */
async function pair(extra: Partial<RedisBrokerOptions> = {}) {
  const prefix = `faults${++run}`;
  const make = (nodeId: string) =>
    createRedisBroker({
      url: redis.url,
      prefix,
      nodeId,
      historySize: 100,
      historyTtlMs: 60_000,
      commandTimeoutMs: 500,
      ...extra,
    });
  const a = make('a');
  const b = make('b');
  const recA = new Recorder();
  const recB = new Recorder();
  await a.start(recA);
  await b.start(recB);
  return {
    a,
    b,
    recA,
    recB,
    keys: new RedisKeys(prefix),
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
}

/** Kills node `nodeId`'s subscriber connection from the server side. */
async function killSubscriber(nodeId: string): Promise<void> {
  const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const line = list.split('\n').find((l) => l.includes(` name=barrage:${nodeId}:sub `));
  assert.ok(line, `no subscriber connection of ${nodeId} in CLIENT LIST`);
  const id = /\bid=(\d+)/.exec(line)![1]!;
  assert.equal(Number(await admin.call('CLIENT', 'KILL', 'ID', id)), 1);
}

async function publishAll(broker: Broker, room: string, from: number, count: number) {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      broker.publish({ room, parts: partsOf(room, from + i), ts: Date.now() }),
    ),
  );
}

describe('redis broker faults', () => {
  it('resyncs, and gives the room a new epoch, when a failover handed a delivered offset to another message', async () => {
    const { a, b, recA, keys, close } = await pair();
    try {
      const room = roomName();
      await a.subscribeRoom(room);
      await publishAll(b, room, 0, 3);
      await eventually('first 3 on a', () => recA.of(room).length === 3);
      const { epoch } = await b.history({ room });
      // What a promoted replica that missed the last write holds: offset 2, no entry 3.
      const stream = keys.roomStream(room);
      const kept = await admin.xrange(stream, '-', '2-0');
      await admin.hset(keys.roomMeta(room), 's', 2);
      await admin.del(stream);
      for (const [id, fields] of kept) await admin.xadd(stream, id, ...fields);
      await killSubscriber('a');
      // Offset 3 again, another message, before a's subscription is back (>= 50 ms).
      const reused = await b.publish({ room, parts: partsOf(room, 99), ts: Date.now() });
      assert.deepEqual([reused.offset, reused.epoch], [3, epoch]);
      await eventually('a resyncs the room', () => recA.resyncs.includes(room), 8000);
      // Not taken as the message a already has at 3, and the room starts over.
      assert.deepEqual(
        recA.of(room).map((p) => p.offset),
        [1, 2, 3],
      );
      await eventually(
        'the room has a new epoch',
        async () => (await b.history({ room })).epoch !== epoch,
      );
      const h = await b.history({ room, since: { offset: 3, epoch } });
      assert.equal(h.recovered, false);
      const next = await b.publish({ room, parts: partsOf(room, 100), ts: Date.now() });
      await eventually('a takes the new epoch', () => recA.of(room).length === 4);
      assert.equal(recA.of(room)[3]!.offset, next.offset);
    } finally {
      await close();
    }
  });

  it('catches up messages missed while its subscriber reconnected, in order, no resync', async () => {
    const { a, b, recA, close } = await pair();
    try {
      const room = roomName();
      await a.subscribeRoom(room);
      await publishAll(b, room, 0, 5);
      await eventually('first 5', () => recA.of(room).length === 5);
      await killSubscriber('a');
      await publishAll(b, room, 5, 20); // while a is away (it reconnects after >= 50 ms)
      await eventually('all 25 after reconnect', () => recA.of(room).length === 25);
      await b.publish({ room, parts: partsOf(room, 25), ts: Date.now() });
      await eventually('live again', () => recA.of(room).length === 26);
      assert.deepEqual(
        recA.of(room).map((p) => p.offset),
        Array.from({ length: 26 }, (_, i) => i + 1),
      );
      assert.deepEqual(recA.resyncs, []);
    } finally {
      await close();
    }
  });

  it('catches up a quiet room from the position its join read, no resync', async () => {
    const { a, b, recA, close } = await pair();
    try {
      const room = roomName();
      await b.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      // As the node joins: subscribe, then read the room's position; nothing delivered yet.
      await a.subscribeRoom(room);
      const joined = await a.history({ room, limit: 0 });
      assert.equal(joined.offset, 1);
      await killSubscriber('a');
      await publishAll(b, room, 1, 10);
      await eventually('the 10 missed', () => recA.of(room).length === 10);
      assert.deepEqual(
        recA.of(room).map((p) => p.offset),
        Array.from({ length: 10 }, (_, i) => i + 2),
      );
      assert.deepEqual(recA.resyncs, []);
    } finally {
      await close();
    }
  });

  it('calls onResync when the missed range is no longer in history', async () => {
    const { a, b, recA, close } = await pair({ historySize: 5 });
    try {
      const room = roomName();
      await a.subscribeRoom(room);
      await publishAll(b, room, 0, 3);
      await eventually('first 3', () => recA.of(room).length === 3);
      await killSubscriber('a');
      await publishAll(b, room, 3, 20); // 20 missed, only 5 kept
      await eventually('resync', () => recA.resyncs.includes(room));
      await b.publish({ room, parts: partsOf(room, 23), ts: Date.now() });
      await eventually('live again', () => recA.of(room).some((p) => p.offset === 24));
      const offsets = recA.of(room).map((p) => p.offset);
      assert.deepEqual(offsets, [1, 2, 3, 24]);
    } finally {
      await close();
    }
  });

  it('treats an offset gap on a live room as a resync when history cannot fill it', async () => {
    const { a, b, recA, keys, close } = await pair();
    try {
      const room = roomName();
      await a.subscribeRoom(room);
      const r = await b.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      await eventually('first', () => recA.of(room).length === 1);
      // A frame from offset 9 with the room's epoch: 2..8 are nowhere to be found.
      const forged = `9:${r.epoch}:{"type":"message","offset":9}`;
      await admin.publish(keys.roomChannel(room), forged);
      await eventually('resync after gap', () => recA.resyncs.includes(room));
      await eventually('forged frame delivered after resync', () => recA.of(room).length === 2);
      assert.deepEqual(
        recA.of(room).map((p) => p.offset),
        [1, 9],
      );
    } finally {
      await close();
    }
  });

  it('fails fast while Redis is down and recovers by itself with a new epoch', async () => {
    const { a, b, recA, recB, close } = await pair();
    try {
      const room = roomName();
      await a.subscribeRoom(room);
      await b.subscribeRoom(room);
      const before = await b.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      await eventually('delivery', () => recA.of(room).length === 1 && recB.of(room).length === 1);

      await redis.kill();
      await eventually('health false', () => !a.health().ok && !b.health().ok, 15_000);
      assert.match(a.health().detail ?? '', /redis/);
      const t0 = Date.now();
      await assert.rejects(
        b.publish({ room, parts: partsOf(room, 1), ts: Date.now() }),
        BrokerUnavailableError,
      );
      await assert.rejects(a.history({ room, limit: 5 }), BrokerUnavailableError);
      await assert.rejects(a.push({ kind: 'all' }, 'x', Buffer.from('{}')), BrokerUnavailableError);
      // Refused while Redis is still down, so nothing waited for it to come back (no offline
      // queue); the ceiling only gives a clear message, with room for a loaded machine.
      assert.ok(Date.now() - t0 < 10_000, `failing took ${Date.now() - t0} ms`);

      await redis.restart(); // same port, empty
      await eventually('health back', () => a.health().ok && b.health().ok, 8000);
      // Both rooms' subscriptions come back by themselves; the old epoch is gone.
      await eventually(
        'resync on both nodes',
        () => recA.resyncs.includes(room) && recB.resyncs.includes(room),
        8000,
      );
      const h = await a.history({ room, since: { offset: before.offset, epoch: before.epoch } });
      assert.equal(h.recovered, false);
      assert.notEqual(h.epoch, before.epoch);
      const after = await b.publish({ room, parts: partsOf(room, 2), ts: Date.now() });
      assert.equal(after.offset, 1);
      assert.equal(after.epoch, h.epoch);
      await eventually(
        'delivery after restart',
        () => recA.of(room).length === 2 && recB.of(room).length === 2,
      );
      assert.deepEqual(
        recA.of(room).map((p) => p.offset),
        [1, 1],
      );
    } finally {
      await close();
    }
  });

  it('does not start without Redis, and fails quickly', async () => {
    const broker = createRedisBroker({
      url: `redis://127.0.0.1:${await freePort()}`,
      nodeId: 'lonely',
      historySize: 10,
      historyTtlMs: 1000,
      connectTimeoutMs: 1000,
    });
    const t0 = Date.now();
    await assert.rejects(broker.start(new Recorder()), BrokerUnavailableError);
    // The cause is the refused port, not a retry loop: it fails well before any retry budget.
    assert.ok(Date.now() - t0 < 10_000, `start took ${Date.now() - t0} ms to fail`);
    assert.equal(broker.health().ok, false);
    await broker.close();
  });

  it('times out commands against a hung Redis and reports it in health', async () => {
    const { a, close } = await pair({ commandTimeoutMs: 300 });
    const pid = redis.pid!;
    try {
      const room = roomName();
      await a.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      process.kill(pid, 'SIGSTOP');
      const t0 = Date.now();
      await assert.rejects(
        a.publish({ room, parts: partsOf(room, 1), ts: Date.now() }),
        BrokerUnavailableError,
      );
      // The cause is the command timeout (health says so), not the process coming back.
      assert.ok(Date.now() - t0 < 10_000, `publish took ${Date.now() - t0} ms to fail`);
      assert.equal(a.health().ok, false);
      assert.match(a.health().detail ?? '', /timed out/i);
      process.kill(pid, 'SIGCONT');
      await eventually('health back after SIGCONT', () => a.health().ok, 5000);
      const r = await a.publish({ room, parts: partsOf(room, 2), ts: Date.now() });
      // The timed-out publish may or may not have run; it was never acknowledged nor resent.
      assert.ok(r.offset === 2 || r.offset === 3, `offset ${r.offset}`);
    } finally {
      process.kill(pid, 'SIGCONT');
      await close();
    }
  });
});
