/**
 * The Redis broker on a real Redis Cluster of 3 masters with one replica each and a short
 * `cluster-node-timeout`: subscriptions and commands issued in the same tick never share a
 * connection (issue 10: "Connection in subscriber mode"), and every master (the seed node the
 * client first knew included) is killed under load, twice per shard: the replica is promoted, the
 * killed node comes back as its replica, and publishing resumes by itself. No silent gap: every
 * acknowledged message reaches the other node, or that node is told to resync the room.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { RedisKeys } from '../../src/broker/redis/keys.js';
import type { Broker } from '../../src/broker/types.js';
import { eventually, partsOf, Recorder, roomName, sleep } from '../contract/broker-contract.js';
import { type RedisProcess, rawCommand, startRedisCluster } from '../support/redis-server.js';

const cluster = await startRedisCluster(3, { replicas: 1, nodeTimeoutMs: 500 });
const keys = new RedisKeys('fo');
/** Generous ceilings for events that must come (a promotion, a resumed publish). */
const PROMOTION_WAIT_MS = 60_000;

after(async () => {
  await cluster.stop();
});

interface ClusterNode {
  port: number;
  master: boolean;
  failed: boolean;
  slots: [number, number][];
}

/** The cluster as a live node sees it (CLUSTER NODES). */
async function clusterNodes(): Promise<ClusterNode[]> {
  for (const server of cluster.servers) {
    if (server.pid === undefined) continue;
    const text = await rawCommand(server.port, 'CLUSTER NODES').catch(() => '');
    if (!text.startsWith('$')) continue;
    return text
      .split(/\r?\n/)
      .slice(1)
      .filter((line) => line.includes('@'))
      .map((line) => {
        const [, address, flags, , , , , , ...slots] = line.split(' ');
        return {
          port: Number(address!.split('@')[0]!.split(':')[1]),
          master: flags!.split(',').includes('master'),
          failed: /fail/.test(flags!),
          slots: slots
            .filter((s) => /^\d/.test(s))
            .map((s) => {
              const [lo, hi] = s.split('-');
              return [Number(lo), Number(hi ?? lo)] as [number, number];
            }),
        };
      });
  }
  throw new Error('no live cluster node');
}

async function slotOf(key: string): Promise<number> {
  const live = cluster.servers.find((s) => s.pid !== undefined)!;
  return Number((await rawCommand(live.port, `CLUSTER KEYSLOT ${key}`)).slice(1));
}

/** The live master serving a slot, if any. */
async function masterOf(slot: number): Promise<number | undefined> {
  const nodes = await clusterNodes();
  return nodes.find(
    (n) => n.master && !n.failed && n.slots.some(([lo, hi]) => slot >= lo && slot <= hi),
  )?.port;
}

function server(port: number): RedisProcess {
  return cluster.servers.find((s) => s.port === port)!;
}

/** `count` rooms on every shard, by the slot of the room's keys. */
async function roomsPerShard(count: number): Promise<{ room: string; slot: number }[][]> {
  const byMaster = new Map<number, { room: string; slot: number }[]>();
  for (let i = 0; i < 500; i++) {
    const room = roomName('fo');
    const slot = await slotOf(keys.roomMeta(room));
    const port = (await masterOf(slot))!;
    const list = byMaster.get(port) ?? [];
    if (list.length < count) list.push({ room, slot });
    byMaster.set(port, list);
    if (byMaster.size === 3 && [...byMaster.values()].every((l) => l.length === count)) break;
  }
  return [...byMaster.values()];
}

function makeBroker(nodeId: string, seeds: string[]): Broker {
  return createRedisBroker({
    cluster: seeds,
    prefix: 'fo',
    nodeId,
    historySize: 1000,
    historyTtlMs: 600_000,
    presenceTtlMs: 2000,
  });
}

/** Publishes on every room, one at a time per room, until stopped; records acks and refusals. */
class Load {
  readonly acked = new Map<string, { epoch: string; offset: number; at: number }[]>();
  readonly refusals: { room: string; at: number; message: string }[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly broker: Broker,
    rooms: string[],
  ) {
    this.loops = rooms.map((room) => this.run(room));
  }

  private async run(room: string): Promise<void> {
    const acks: { epoch: string; offset: number; at: number }[] = [];
    this.acked.set(room, acks);
    // Bounded: the test stops it long before; each turn waits for Redis or a refusal.
    for (let i = 0; i < 200_000 && !this.stopped; i++) {
      try {
        const r = await this.broker.publish({ room, parts: partsOf(room, i), ts: Date.now() });
        acks.push({ epoch: r.epoch, offset: r.offset, at: Date.now() });
        await sleep(15); // a steady rate, not a flood: 2 cores serve Redis, both brokers and this
      } catch (err) {
        this.refusals.push({ room, at: Date.now(), message: (err as Error).message });
        await sleep(20);
      }
    }
  }

  /** Whether a publish on `room` was acknowledged after `since`. */
  ackedAfter(room: string, since: number): number | undefined {
    return this.acked.get(room)?.find((a) => a.at > since)?.at;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

describe('redis broker on a Redis Cluster with replicas', () => {
  const brokers: Broker[] = [];
  after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
  });

  it('never sends a command on a subscriber connection when joins and publishes overlap (x5)', async () => {
    for (let round = 0; round < 5; round++) {
      const broker = makeBroker(`race${round}`, cluster.nodes);
      await broker.start(new Recorder());
      try {
        const rooms = Array.from({ length: 24 }, () => roomName('race'));
        // Same tick: SSUBSCRIBEs and EVALSHAs to the same masters.
        const first = await Promise.allSettled(
          rooms.flatMap((room, i) => [
            broker.subscribeRoom(room),
            broker.publish({ room, parts: partsOf(room, i), ts: Date.now() }),
            broker.history({ room }),
          ]),
        );
        const failed = first.filter((r) => r.status === 'rejected');
        assert.deepEqual(
          failed.map((r) => String((r as PromiseRejectedResult).reason)),
          [],
          `round ${round}`,
        );
        // A command connection left in subscriber mode would refuse these.
        for (const room of rooms) {
          const r = await broker.publish({ room, parts: partsOf(room, 99), ts: Date.now() });
          assert.equal(r.offset, 2);
        }
        assert.deepEqual(broker.health(), { ok: true });
      } finally {
        await broker.close();
      }
    }
  });

  it('resumes by itself after each master (the seed node first) is killed under load, twice per shard', async (t) => {
    const seed = cluster.servers[0]!;
    assert.equal(seed.port, cluster.ports[0]);
    // The publisher knows only the seed node: losing it must not matter once connected.
    const a = makeBroker('a', [`127.0.0.1:${seed.port}`]);
    const b = makeBroker('b', cluster.nodes);
    const recA = new Recorder();
    const recB = new Recorder();
    await a.start(recA);
    await b.start(recB);
    brokers.push(a, b);
    const shards = await roomsPerShard(4);
    const rooms = shards.flat();
    for (const { room } of rooms) await b.subscribeRoom(room);
    let seedShard = -1;
    for (const [i, shard] of shards.entries()) {
      if ((await masterOf(shard[0]!.slot)) === seed.port) seedShard = i;
    }
    assert.notEqual(seedShard, -1);
    // The seed's shard first, then the others; then every shard again (the old masters, now
    // replicas, are promoted back).
    const order = [0, 1, 2].sort((x, y) => (x === seedShard ? -1 : y === seedShard ? 1 : 0));
    const outcomes: string[] = [];
    const healthDetails = new Set<string>();
    const load = new Load(
      a,
      rooms.map((r) => r.room),
    );
    try {
      for (const shard of [...order, ...order]) {
        const probe = shards[shard]![0]!;
        const victim = (await masterOf(probe.slot))!;
        await eventually(
          'load running on the shard',
          () => load.ackedAfter(probe.room, Date.now() - 1000) !== undefined,
          PROMOTION_WAIT_MS,
        );
        const killedAt = Date.now();
        const refusedBefore = load.refusals.length;
        await server(victim).kill();
        // Until the promotion, health names the master that is gone (or the refusals it causes).
        await eventually(
          `health names ${victim}`,
          () => (a.health().detail ?? '').includes(String(victim)) || !a.health().ok,
          PROMOTION_WAIT_MS,
        );
        healthDetails.add((a.health().detail ?? '').replace(/\d{4,5}/g, 'PORT'));
        await eventually(
          `a replica of ${victim} promoted`,
          async () => {
            const port = await masterOf(probe.slot).catch(() => undefined);
            return port !== undefined && port !== victim;
          },
          PROMOTION_WAIT_MS,
        );
        const promotedAt = Date.now();
        await eventually(
          `publishes on the shard of ${victim} resume`,
          () => shards[shard]!.every((r) => load.ackedAfter(r.room, promotedAt) !== undefined),
          PROMOTION_WAIT_MS,
        );
        const resumedAt = Math.min(
          ...shards[shard]!.map((r) => load.ackedAfter(r.room, killedAt) ?? Date.now()),
        );
        const refused = load.refusals.slice(refusedBefore);
        outcomes.push(
          `killed ${victim}${victim === seed.port ? ' (seed)' : ''}: promoted after ${promotedAt - killedAt} ms, ` +
            `first publish on the shard acknowledged after ${resumedAt - killedAt} ms, ` +
            `${refused.length} refused publishes`,
        );
        // The killed node comes back as the replica of its successor, ready for the next round.
        await server(victim).restart({ keepClusterConfig: true });
        await eventually(
          `${victim} back as a replica in sync`,
          async () => {
            const info = await rawCommand(victim, 'INFO replication').catch(() => '');
            return info.includes('role:slave') && info.includes('master_link_status:up');
          },
          PROMOTION_WAIT_MS,
        );
        await eventually(
          'both brokers healthy',
          () => a.health().ok && b.health().ok,
          PROMOTION_WAIT_MS,
        );
      }
    } finally {
      await load.stop();
    }
    for (const line of outcomes) t.diagnostic(line);
    for (const detail of healthDetails) t.diagnostic(`health during a failover: ${detail}`);
    assert.ok(
      [...healthDetails].some((d) => /^Redis Cluster master 127\.0\.0\.1:PORT: /.test(d)),
      `health never named the master: ${[...healthDetails].join(' | ')}`,
    );
    const subscriberMode = load.refusals.filter((r) => /subscriber mode/i.test(r.message));
    assert.deepEqual(subscriberMode, []);
    // Let b's feed reach every acknowledged message (or resync) before judging.
    await eventually(
      'b caught up with every room',
      () =>
        rooms.every(({ room }) => {
          const acks = load.acked.get(room)!;
          const last = acks[acks.length - 1];
          const seen = recB.of(room);
          return (
            last === undefined ||
            recB.resyncs.includes(room) ||
            seen.some((p) => p.offset === last.offset)
          );
        }),
      PROMOTION_WAIT_MS,
    );
    let resynced = 0;
    for (const { room } of rooms) {
      const offsets = recB.of(room).map((p) => p.offset);
      if (recB.resyncs.includes(room)) {
        resynced++;
        continue;
      }
      // Not told to resync: every message, in order, each acknowledged one included.
      assert.deepEqual(
        offsets,
        Array.from({ length: offsets.length }, (_, i) => i + 1),
        `room ${room} has a silent gap`,
      );
      const acked = load.acked.get(room)!.map((a) => a.offset);
      // An offset handed out twice: a failover lost the first, and a node that saw it would
      // drop the second as a duplicate.
      assert.deepEqual(
        acked,
        [...new Set(acked)].sort((x, y) => x - y),
        `offsets reused in ${room}`,
      );
      for (const ack of load.acked.get(room)!) {
        assert.ok(
          offsets.includes(ack.offset),
          `acknowledged ${ack.offset} of ${room} never arrived`,
        );
      }
    }
    t.diagnostic(`${resynced} of ${rooms.length} rooms resynced on b`);
    assert.ok(rooms.every(({ room }) => load.acked.get(room)!.length > 0));
  });
});
