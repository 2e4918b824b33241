/**
 * The Redis broker behind Redis Sentinel, with real processes: a primary, one replica and three
 * Sentinels (`redis-server --sentinel`). The primary is killed under load; the Sentinels promote
 * the replica; both brokers follow by themselves (no restart), publishing resumes, and the other
 * node gets every acknowledged message or is told to resync. A connection whose Sentinel lookup a
 * failover notice cut short (ioredis then gives up on it) is connected again. A server configured
 * with `redisSentinels` and `redisMasterName` is healthy on the same setup.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { createLink } from '../../src/broker/redis/link.js';
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
/** A ceiling for closing brokers and stopping publishing loops, so a failure cannot hang the file. */
const CLEANUP_MS = 10_000;

let primary: RedisProcess;
let replica: RedisProcess;
const sentinels: SentinelProcess[] = [];
let sentinelClient: Redis;

/** The primary's port as the Sentinels name it now. */
async function primaryPort(): Promise<number> {
  // sentinelClient has a command timeout: this never waits past it.
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
  sentinelClient = new Redis({
    port: sentinels[0]!.port,
    host: '127.0.0.1',
    lazyConnect: true,
    commandTimeout: 2000,
    maxRetriesPerRequest: 1,
  });
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

/** The flags a Sentinel gives the replica on `port` (`slave` when usable), or null if unknown. */
async function replicaFlags(sentinelPort: number, port: number): Promise<string | null> {
  const client = new Redis({
    port: sentinelPort,
    host: '127.0.0.1',
    lazyConnect: true,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const replicas = (await client.call('SENTINEL', 'replicas', NAME)) as string[][];
    for (const fields of replicas) {
      const get = (k: string) => fields[fields.indexOf(k) + 1];
      if (Number(get('port')) === port) return get('flags') ?? null;
    }
    return null;
  } finally {
    client.disconnect();
  }
}

/** Rejects if `p` has not settled within `ms` (a cleanup bound, not a performance bound). */
async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

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

  it('connects again a connection whose Sentinel lookup a failover notice cut short', async () => {
    const link = createLink(
      {
        url: 'redis://127.0.0.1:6379',
        cluster: null,
        sentinels: sentinels.map((s) => s.address),
        masterName: NAME,
        commandTimeoutMs: 1000,
        connectTimeoutMs: 5000,
        name: 'sentinel-cut',
      },
      { message() {}, subscriberReady() {}, subscriberLost() {} },
    );
    try {
      await link.connect(WAIT_MS);
      const cmd = link.cmd as Redis;
      let ended = false;
      cmd.on('end', () => {
        ended = true;
      });
      // ioredis' FailoverDetector, told of +switch-master, calls its connector's disconnect(). Made
      // while the connection asks the Sentinels (status `connecting`: what a failover under load
      // leads to), the lookup fails with "Connection is closed." and ioredis ends the connection.
      const connector = (cmd as unknown as { connector: { disconnect(): void } }).connector;
      const cut = new Promise<void>((resolve) =>
        cmd.once('connecting', () => {
          connector.disconnect();
          resolve();
        }),
      );
      cmd.disconnect(true);
      await within('reconnect attempt', cut, WAIT_MS);
      await eventually('ioredis ends the connection', () => ended, WAIT_MS);
      await eventually(
        'publishing again on the same link',
        () =>
          link.publish('sentinel-cut:c', 'x').then(
            () => true,
            () => false,
          ),
        WAIT_MS,
      );
      assert.equal(cmd.status, 'ready');
    } finally {
      await link.close();
    }
  });

  it('moves every connection to the new primary when a live primary is demoted', async () => {
    const a = makeBroker('demote-a');
    const b = makeBroker('demote-b');
    const names = ['demote-a:cmd', 'demote-a:sub', 'demote-b:cmd', 'demote-b:sub'];
    /** Which of our connections a Redis has, by CLIENT LIST name. */
    const ours = async (port: number) => {
      const list = await rawCommand(port, 'CLIENT LIST');
      return names.filter((n) => list.includes(`name=barrage:${n} `));
    };
    try {
      const recB = new Recorder();
      await a.start(new Recorder());
      await b.start(recB);
      const room = roomName('demote');
      await b.subscribeRoom(room);
      await a.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      assert.deepEqual(await ours(primary.port), names);
      // A manual failover: the old primary stays up and becomes a replica of the promoted one.
      await sentinelClient.call('SENTINEL', 'FAILOVER', NAME);
      await eventually(
        'the Sentinels name the replica',
        async () => (await primaryPort().catch(() => 0)) === replica.port,
        WAIT_MS,
      );
      await eventually(
        'the old primary is a replica',
        async () =>
          (await rawCommand(primary.port, 'INFO replication').catch(() => '')).includes(
            'role:slave',
          ),
        WAIT_MS,
      );
      // Not one connection may stay on the demoted node (a subscriber there would hear only
      // what replication forwards; a command connection there is refused every write).
      await eventually(
        'every connection on the new primary',
        async () =>
          (await ours(replica.port).catch(() => [])).length === names.length &&
          (await ours(primary.port).catch(() => names)).length === 0,
        WAIT_MS,
      );
      let offset = 0;
      await eventually(
        'a publishes on the new primary',
        () =>
          a.publish({ room, parts: partsOf(room, 1), ts: Date.now() }).then(
            (r) => {
              offset = r.offset;
              return true;
            },
            () => false,
          ),
        WAIT_MS,
      );
      await eventually(
        'b gets it or resyncs',
        () => recB.resyncs.includes(room) || recB.of(room).some((p) => p.offset === offset),
        WAIT_MS,
      );
      await eventually('both brokers healthy', () => a.health().ok && b.health().ok, WAIT_MS);
    } finally {
      await within('closing both brokers', Promise.all([a.close(), b.close()]), CLEANUP_MS);
    }
    // The roles swapped: the next test kills the new primary and expects the old one promoted.
    [primary, replica] = [replica, primary];
    await eventually(
      'the demoted node in sync and known to every Sentinel as a usable replica',
      async () => {
        const info = await rawCommand(replica.port, 'INFO replication').catch(() => '');
        if (!info.includes('master_link_status:up')) return false;
        for (const s of sentinels) {
          const flags = await replicaFlags(s.port, replica.port).catch(() => null);
          if (flags !== 'slave') return false;
        }
        return true;
      },
      WAIT_MS,
    );
  });

  it('follows the promoted replica when the primary is killed under load', async (t) => {
    const a = makeBroker('a');
    const b = makeBroker('b');
    try {
      await failoverUnderLoad(t, a, b);
    } finally {
      // Closing bounds every call: a hang here is a bug, and must not hang the file.
      await within('closing both brokers', Promise.all([a.close(), b.close()]), CLEANUP_MS);
    }
  });
});

async function failoverUnderLoad(
  t: { diagnostic(message: string): void },
  a: Broker,
  b: Broker,
): Promise<void> {
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
    // Each publish is bounded by the command timeout, so the loops stop within about that.
    await within('stopping the publishing loops', Promise.all(loops), CLEANUP_MS);
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
}
