/**
 * The Redis broker behind Redis Sentinel, with real processes: a primary, one replica and three
 * Sentinels (`redis-server --sentinel`). The primary is killed under load; the Sentinels promote
 * the replica; both brokers follow by themselves (no restart), publishing resumes, and the other
 * node gets every acknowledged message or is told to resync. A server configured with
 * `redisSentinels` and `redisMasterName` is healthy on the same setup.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import type { Broker } from '../../src/broker/types.js';
import { eventually, partsOf, Recorder, roomName, sleep } from '../contract/broker-contract.js';
import {
  type RedisProcess,
  rawCommand,
  type SentinelProcess,
  startRedis,
  startSentinel,
} from '../support/redis-server.js';
import { startServer } from '../support/server.js';

const NAME = 'barrage-primary';
/** A ceiling for events that must come (a promotion, a resumed publish), not a performance bound. */
const WAIT_MS = 60_000;

let primary: RedisProcess;
let replica: RedisProcess;
const sentinels: SentinelProcess[] = [];
let sentinelClient: Redis;

/** The primary's port as the Sentinels name it now. */
async function primaryPort(): Promise<number> {
  const addr = (await sentinelClient.call('SENTINEL', 'get-master-addr-by-name', NAME)) as string[];
  return Number(addr[1]);
}

before(async () => {
  primary = await startRedis();
  replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await eventually(
    'replica in sync',
    async () =>
      (await rawCommand(replica.port, 'INFO replication')).includes('master_link_status:up'),
    WAIT_MS,
  );
  for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(primary.port, NAME));
  sentinelClient = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', lazyConnect: true });
  sentinelClient.on('error', () => {});
  await sentinelClient.connect();
  // Each Sentinel must know the replica and the other two before a failover can be agreed on.
  await eventually(
    'sentinels know each other and the replica',
    async () => {
      for (const s of sentinels) {
        const info = await rawCommand(s.port, 'INFO sentinel');
        if (!/slaves=1,sentinels=3/.test(info)) return false;
      }
      return true;
    },
    WAIT_MS,
  );
});

after(async () => {
  sentinelClient?.disconnect();
  await Promise.all(sentinels.map((s) => s.stop()));
  await Promise.all([primary?.stop(), replica?.stop()]);
});

function makeBroker(nodeId: string): Broker {
  return createRedisBroker({
    sentinels: sentinels.map((s) => s.address),
    masterName: NAME,
    prefix: 'sentinel',
    nodeId,
    historySize: 1000,
    historyTtlMs: 600_000,
  });
}

describe('redis broker behind Redis Sentinel', () => {
  it('serves a server configured with redisSentinels and redisMasterName', async () => {
    const server = await startServer({
      nodeId: 'sentinel-server',
      redisSentinels: sentinels.map((s) => s.address),
      redisMasterName: NAME,
      redisPrefix: 'sentinel-srv',
    });
    try {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
        broker?: { kind?: string; ok?: boolean };
      };
      assert.deepEqual([health.broker?.kind, health.broker?.ok], ['redis', true]);
    } finally {
      await server.close();
    }
  });

  it('follows the promoted replica when the primary is killed under load', async (t) => {
    const a = makeBroker('a');
    const b = makeBroker('b');
    const recB = new Recorder();
    await a.start(new Recorder());
    await b.start(recB);
    const rooms = Array.from({ length: 4 }, () => roomName('sentinel'));
    for (const room of rooms) await b.subscribeRoom(room);
    const acked = new Map<string, { offset: number; at: number }[]>(rooms.map((r) => [r, []]));
    let refused = 0;
    let stopped = false;
    const loops = rooms.map(async (room) => {
      for (let i = 0; i < 100_000 && !stopped; i++) {
        try {
          const r = await a.publish({ room, parts: partsOf(room, i), ts: Date.now() });
          acked.get(room)!.push({ offset: r.offset, at: Date.now() });
          await sleep(15);
        } catch {
          refused++;
          await sleep(20);
        }
      }
    });
    try {
      await eventually('publishing', () => rooms.every((r) => acked.get(r)!.length > 3), WAIT_MS);
      const old = await primaryPort();
      assert.equal(old, primary.port);
      const killedAt = Date.now();
      await primary.kill();
      await eventually(
        'the Sentinels promote the replica',
        async () => (await primaryPort().catch(() => old)) === replica.port,
        WAIT_MS,
      );
      const promotedAt = Date.now();
      await eventually(
        'publishes resume on the new primary',
        () => rooms.every((r) => acked.get(r)!.some((x) => x.at > promotedAt)),
        WAIT_MS,
      );
      const resumedAt = Math.min(
        ...rooms.map((r) => acked.get(r)!.find((x) => x.at > killedAt)?.at ?? Date.now()),
      );
      await eventually('both brokers healthy', () => a.health().ok && b.health().ok, WAIT_MS);
      t.diagnostic(
        `promoted after ${promotedAt - killedAt} ms, first publish acknowledged after ` +
          `${resumedAt - killedAt} ms, ${refused} refused publishes`,
      );
    } finally {
      stopped = true;
      await Promise.all(loops);
    }
    // Every acknowledged message reached b, or b was told to resync the room.
    for (const room of rooms) {
      const last = acked.get(room)!.at(-1)!;
      await eventually(
        `b has ${room} up to ${last.offset} or resynced`,
        () => recB.resyncs.includes(room) || recB.of(room).some((p) => p.offset === last.offset),
        WAIT_MS,
      );
      if (recB.resyncs.includes(room)) continue;
      const offsets = recB.of(room).map((p) => p.offset);
      assert.deepEqual(
        offsets,
        Array.from({ length: offsets.length }, (_, i) => i + 1),
        `room ${room}: a silent gap`,
      );
      const ackedOffsets = acked.get(room)!.map((x) => x.offset);
      assert.deepEqual(ackedOffsets, [...new Set(ackedOffsets)], `room ${room}: offsets reused`);
      for (const offset of ackedOffsets) assert.ok(offsets.includes(offset), `${offset} lost`);
    }
    await Promise.all([a.close(), b.close()]);
  });
});
