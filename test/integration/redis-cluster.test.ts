/**
 * The Redis broker on a real 3-master Redis Cluster (sharded pub/sub): rooms that hash to
 * different shards, delivered across two brokers in order, with history, pushes and presence;
 * then the whole broker contract in Cluster mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { RedisKeys } from '../../src/broker/redis/keys.js';
import type { Broker } from '../../src/broker/types.js';
import { pushLine } from '../../src/protocol/index.js';
import {
  brokerContract,
  CONTRACT_HISTORY_SIZE,
  CONTRACT_HISTORY_TTL_MS,
  CONTRACT_PRESENCE_TTL_MS,
  eventually,
  partsOf,
  Recorder,
  roomName,
} from '../contract/broker-contract.js';
import { TestClient } from '../support/client.js';
import { startRedisCluster } from '../support/redis-server.js';
import { startServer } from '../support/server.js';

const cluster = await startRedisCluster(3);
/** One plain connection per master, by port. */
const masters = new Map<number, Redis>();
const brokers: Broker[] = [];
const recorders: Recorder[] = [];
const keys = new RedisKeys('cl');

before(async () => {
  for (const port of cluster.ports) {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    r.on('error', () => {});
    await r.connect();
    masters.set(port, r);
  }
  for (const nodeId of ['a', 'b']) {
    const broker = createRedisBroker({
      cluster: cluster.nodes,
      prefix: 'cl',
      nodeId,
      historySize: 100,
      historyTtlMs: 60_000,
      presenceTtlMs: 2000,
    });
    const rec = new Recorder();
    await broker.start(rec);
    brokers.push(broker);
    recorders.push(rec);
  }
});

after(async () => {
  await Promise.all(brokers.map((b) => b.close()));
  for (const r of masters.values()) r.disconnect();
  await cluster.stop();
});

/** The master port serving a key's slot. */
async function ownerOf(key: string): Promise<number> {
  const any = masters.values().next().value!;
  const slot = Number(await any.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await any.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
  assert.ok(range, `no owner for slot ${slot}`);
  return Number(range[2][1]);
}

/** One room per master. */
async function roomsOnEveryShard(): Promise<Map<number, string>> {
  const byPort = new Map<number, string>();
  for (let i = 0; i < 200 && byPort.size < cluster.ports.length; i++) {
    const room = roomName('shard');
    const port = await ownerOf(keys.roomMeta(room));
    if (!byPort.has(port)) byPort.set(port, room);
  }
  assert.equal(byPort.size, cluster.ports.length);
  return byPort;
}

describe('redis broker on Redis Cluster', () => {
  it('delivers rooms of different shards across nodes, in order, with history', async () => {
    const [a, b] = brokers;
    const [recA, recB] = recorders;
    const rooms = await roomsOnEveryShard();
    for (const room of rooms.values()) await b!.subscribeRoom(room);
    const perRoom = 20;
    await Promise.all(
      [...rooms.values()].flatMap((room) =>
        Array.from({ length: perRoom }, (_, i) =>
          a!.publish({ room, parts: partsOf(room, i), ts: Date.now() }),
        ),
      ),
    );
    for (const [port, room] of rooms) {
      await eventually(`room on ${port}`, () => recB!.of(room).length === perRoom);
      assert.deepEqual(
        recB!.of(room).map((p) => p.offset),
        Array.from({ length: perRoom }, (_, i) => i + 1),
      );
      assert.equal(recA!.of(room).length, 0);
      // The room's meta and stream live on the shard its hash tag names.
      assert.equal(await masters.get(port)!.exists(keys.roomMeta(room), keys.roomStream(room)), 2);
      const { epoch } = await b!.history({ room });
      const h = await b!.history({ room, since: { offset: 15, epoch } });
      assert.equal(h.recovered, true);
      assert.deepEqual(
        h.lines.map(String),
        recB!
          .of(room)
          .slice(15)
          .map((p) => p.line),
      );
    }
  });

  it('catches up after its sharded subscriber connections are killed', async () => {
    const [a, b] = brokers;
    const [recA, recB] = recorders;
    const room = roomName();
    await a!.subscribeRoom(room);
    await b!.subscribeRoom(room);
    for (let i = 0; i < 3; i++) await a!.publish({ room, parts: partsOf(room, i), ts: Date.now() });
    await eventually(
      'first 3 on both',
      () => recA!.of(room).length === 3 && recB!.of(room).length === 3,
    );
    const master = masters.get(await ownerOf(keys.roomChannel(room)))!;
    assert.ok(Number(await master.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) >= 2);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        a!.publish({ room, parts: partsOf(room, 3 + i), ts: Date.now() }),
      ),
    );
    await eventually(
      'all 23 on both',
      () => recA!.of(room).length === 23 && recB!.of(room).length === 23,
      8000,
    );
    for (const rec of [recA!, recB!]) {
      assert.deepEqual(
        rec.of(room).map((p) => p.offset),
        Array.from({ length: 23 }, (_, i) => i + 1),
      );
      assert.deepEqual(rec.resyncs, []);
    }
  });

  it('sums push deliveries and presence across nodes', async () => {
    const [a, b] = brokers;
    const [recA, recB] = recorders;
    recA!.connections.set('carol', 1);
    recB!.connections.set('carol', 2);
    recA!.connections.set('*', 3);
    recB!.connections.set('*', 4);
    await a!.subscribeUser('carol');
    await b!.subscribeUser('carol');
    const line = pushLine('dm', '{}', Date.now());
    assert.equal(await a!.push({ kind: 'user', userId: 'carol' }, 'dm', line), 3);
    assert.equal(await b!.push({ kind: 'all' }, 'news', line), 7);

    const room = roomName();
    await a!.reportOnline(new Map([[room, 5]]));
    await b!.reportOnline(new Map([[room, 6]]));
    assert.equal((await a!.remoteOnline([room])).get(room), 6);
    assert.equal((await b!.remoteOnline([room])).get(room), 5);
    assert.deepEqual(a!.health(), { ok: true });
  });
});

describe('servers configured with redisCluster', () => {
  it('deliver a room across nodes over WebSockets, in order', async () => {
    const servers = await Promise.all(
      ['s1', 's2'].map((nodeId) =>
        startServer({ nodeId, redisCluster: cluster.nodes, redisPrefix: 'srv', roomPolicies: [] }),
      ),
    );
    const clients: TestClient[] = [];
    try {
      const [x, y] = await Promise.all(servers.map((s) => TestClient.connect(s.wsUrl)));
      clients.push(x!, y!);
      const room = roomName('srv');
      assert.equal((await x!.request({ type: 'join', room })).type, 'joined');
      const acks = [];
      for (let i = 0; i < 5; i++) acks.push(await y!.request({ type: 'publish', room, data: i }));
      assert.deepEqual(
        acks.map((a) => a.offset),
        [1, 2, 3, 4, 5],
      );
      for (let i = 0; i < 5; i++) {
        const m = await x!.next((l) => l.type === 'message' && l.room === room);
        assert.deepEqual([m.offset, m.data], [i + 1, i]);
      }
      const health = (await (await fetch(`${servers[0]!.url}/healthz`)).json()) as {
        broker?: { kind?: string; ok?: boolean };
      };
      assert.deepEqual([health.broker?.kind, health.broker?.ok], ['redis', true]);
    } finally {
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

let run = 0;
brokerContract('redis (2 nodes, cluster of 3 masters)', async () => {
  const prefix = `contract${++run}`;
  const made = ['n1', 'n2'].map((nodeId) =>
    createRedisBroker({
      cluster: cluster.nodes,
      prefix,
      nodeId,
      historySize: CONTRACT_HISTORY_SIZE,
      historyTtlMs: CONTRACT_HISTORY_TTL_MS,
      presenceTtlMs: CONTRACT_PRESENCE_TTL_MS,
    }),
  );
  return { brokers: made, cleanup: async () => {} };
});
