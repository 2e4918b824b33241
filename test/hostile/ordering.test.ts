/**
 * Ordering and loss accounting, against one node (embedded broker), two nodes over one Redis, and
 * two nodes over a Redis Cluster of three masters (sharded pub/sub). Publishers tag messages
 * `(publisher, seq)`; subscribers log what they get, some of them bounce mid-stream and rejoin
 * with `since` on another node; one reader of the lossy room reads slowly on purpose.
 *
 * Pass criteria:
 * - per-room order: every subscriber's offsets strictly increase, and each publisher's messages
 *   appear in the order it sent them;
 * - no duplicates, also after recovery;
 * - reliable room: every subscriber ends with every offset (what it missed while away was
 *   recovered);
 * - lossy room: every message some subscriber did not get is counted in `/metrics`
 *   `barrage_drops_total{reason="slow"}` (sum over nodes equals the sum of misses, exactly).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { clientFrame } from '../support/raw.js';
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
} from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';
import { Subscriber } from './subscriber.js';
import { frame, metricSum, metrics, RawWs, sleep } from './support.js';

type Server = Awaited<ReturnType<typeof startServer>>;

const PUBLISHERS = 4;
const PER_PUBLISHER = 150;

const serverOptions = {
  publishRate: 10_000,
  publishBurst: 10_000,
  commandRate: 10_000,
  commandBurst: 10_000,
  historySize: 5000,
  // Fixed: a handful of members is too cheap for the adaptive window to merge, and merged frames
  // (several 8 kB lines each) are what push the throttled reader past its soft mark.
  roomPolicies: ['live:*=20/lossy/fixed'],
  sendSoftLimitBytes: 16 * 1024,
};

/** Publishes `PER_PUBLISHER` tagged messages, 10 in flight; returns the acked seqs by offset. */
async function publisher(node: Server, room: string, tag: string, pad: string) {
  const c = await TestClient.connect(node.wsUrl);
  const acked = new Map<number, number>();
  for (let seq = 0; seq < PER_PUBLISHER; seq += 10) {
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        c.request({ type: 'publish', room, data: { p: tag, seq: seq + i, pad } }, 10_000),
      ),
    );
    replies.forEach((r, i) => {
      assert.equal(r.type, 'ok', JSON.stringify(r));
      acked.set(r.offset as number, seq + i);
    });
    await sleep(15);
  }
  c.close();
  return acked;
}

/** A raw reader that takes in ~200 KB/s and counts the room's offsets it reads. */
async function throttledReader(node: Server, room: string) {
  const raw = await RawWs.open(node.port);
  raw.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'join', room, id: 'j' }))));
  await raw.waitText((l) => l.includes('"joined"'));
  const offsets: number[] = [];
  raw.keepText = false;
  raw.onText = (text) => {
    for (const m of text.matchAll(/"type":"message","room":"[^"]*","offset":(\d+)/g))
      offsets.push(Number(m[1]));
  };
  let throttled = true;
  raw.socket.on('data', (chunk: Buffer) => {
    if (!throttled) return;
    raw.socket.pause();
    setTimeout(() => raw.socket.resume(), Math.ceil(chunk.length / 200));
  });
  return {
    offsets,
    raw,
    unthrottle() {
      throttled = false;
      raw.socket.resume();
    },
  };
}

async function dropsTotal(nodes: Server[]): Promise<number> {
  let sum = 0;
  for (const n of nodes) sum += metricSum(await metrics(n.url), 'barrage_drops_total');
  return sum;
}

function suite(name: string, start: () => Promise<Server[]>, stop: () => Promise<void>) {
  describe(name, () => {
    let nodes: Server[] = [];
    const subs: Subscriber[] = [];
    before(async () => {
      nodes = await start();
    });
    after(async () => {
      for (const s of subs) s.stop();
      await Promise.all(nodes.map((n) => n.close()));
      await stop();
    });

    /** Six subscribers spread over the nodes; three of them bounce to the next node in turn. */
    async function subscribe(room: string): Promise<{ all: Subscriber[]; bouncers: Subscriber[] }> {
      const urls = nodes.map((n) => n.wsUrl);
      const all = Array.from({ length: 6 }, (_, k) => {
        const rotated = [...urls.slice(k % urls.length), ...urls.slice(0, k % urls.length)];
        return new Subscriber(() => rotated, room);
      });
      subs.push(...all);
      await Promise.all(all.map((s) => s.start()));
      return { all, bouncers: all.slice(0, 3) };
    }

    /** Runs the publishers (spread over the nodes) while the bouncers bounce every 120 ms. */
    async function run(room: string, bouncers: Subscriber[], pad: string) {
      let bounces = 0;
      let publishing = true;
      const bouncing = (async () => {
        for (let i = 0; publishing && i < 200; i++) {
          await sleep(120);
          bouncers[i % bouncers.length]!.bounce();
          bounces++;
        }
      })();
      const acks = await Promise.all(
        Array.from({ length: PUBLISHERS }, (_, p) =>
          publisher(nodes[p % nodes.length]!, room, `p${p}`, pad),
        ),
      );
      publishing = false;
      await bouncing;
      const info = await api(nodes[0]!, 'GET', `/api/rooms/${encodeURIComponent(room)}`);
      const final = info.body.offset as number;
      assert.equal(final, PUBLISHERS * PER_PUBLISHER);
      return { acks, final, bounces };
    }

    /** Each publisher's messages appear in its send order, each at the offset it was acked with. */
    function assertPublisherOrder(
      log: { offset: number; data: unknown }[],
      acks: Map<number, number>[],
    ): void {
      for (const r of log) {
        const { p, seq } = r.data as { p: string; seq: number };
        assert.equal(acks[Number(p.slice(1))]!.get(r.offset), seq, `offset ${r.offset}`);
      }
      for (let p = 0; p < acks.length; p++) {
        const seqs = log
          .filter((r) => (r.data as { p: string }).p === `p${p}`)
          .map((r) => (r.data as { seq: number }).seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((x, y) => x - y),
          `p${p} in send order`,
        );
      }
    }

    it('reliable room: per-room order, no duplicates, everything missed while away recovered', async (t) => {
      const room = `order:${randomBytes(3).toString('hex')}`;
      const { all, bouncers } = await subscribe(room);
      const { acks, final, bounces } = await run(room, bouncers, '');
      await waitFor(() => all.every((s) => s.lastOffset >= final), 'subscribers caught up', 15_000);
      const every = Array.from({ length: final }, (_, i) => i + 1);
      let recovered = 0;
      for (const s of all) {
        assert.deepEqual(s.gaps, [], 'no silent gap');
        assert.equal(s.duplicates, 0, 'no duplicates');
        assert.equal(s.unrecovered, 0);
        assert.deepEqual(s.offsets(), every, 'every offset, in order');
        assertPublisherOrder(s.log, acks);
        recovered += s.log.filter((r) => r.how === 'recovered').length;
      }
      // Everyone saw the same message at each offset.
      const reference = JSON.stringify(all[0]!.log.map((r) => r.data));
      for (const s of all) assert.equal(JSON.stringify(s.log.map((r) => r.data)), reference);
      t.diagnostic(`${final} messages, ${bounces} bounces, ${recovered} recovered on rejoin`);
      assert.ok(recovered > 0, 'the recovery path was exercised');
    });

    it('lossy room: order kept, every message a subscriber missed is counted as a drop', async (t) => {
      const room = `live:order-${randomBytes(3).toString('hex')}`;
      const dropsBefore = await dropsTotal(nodes);
      const { all, bouncers } = await subscribe(room);
      const slow = await throttledReader(nodes[nodes.length - 1]!, room);
      const { acks, final, bounces } = await run(room, bouncers, 'x'.repeat(8000));
      await waitFor(() => all.every((s) => s.lastOffset >= final), 'subscribers caught up', 15_000);
      // Let the slow reader take in the rest, until nothing more comes for 300 ms.
      slow.unthrottle();
      let seen = -1;
      for (let i = 0; i < 100 && slow.offsets.length !== seen; i++) {
        seen = slow.offsets.length;
        await sleep(300);
      }
      let missed = 0;
      for (const s of all) {
        const offsets = s.offsets();
        assert.deepEqual(
          offsets,
          [...new Set(offsets)].sort((x, y) => x - y),
          'strictly increasing',
        );
        assert.equal(s.duplicates, 0, 'no duplicates');
        assertPublisherOrder(s.log, acks);
        missed += final - offsets.length;
      }
      assert.deepEqual(
        slow.offsets,
        [...new Set(slow.offsets)].sort((x, y) => x - y),
        'slow reader: strictly increasing',
      );
      missed += final - slow.offsets.length;
      const drops = (await dropsTotal(nodes)) - dropsBefore;
      t.diagnostic(
        `${final} messages, ${bounces} bounces; missed ${missed} (slow reader ${final - slow.offsets.length}), drops counted ${drops}`,
      );
      assert.ok(missed > 0, 'the slow reader fell behind');
      assert.equal(missed, drops, 'every miss is a counted drop, and every counted drop a miss');
      slow.raw.destroy();
    });
  });
}

suite(
  'one node, embedded broker',
  async () => [await startServer(serverOptions)],
  async () => {},
);

let redis: RedisProcess | null = null;
const redisNodes: Server[] = [];
suite(
  'two nodes over Redis',
  async () => {
    redis = await startRedis();
    const prefix = `order-${randomBytes(3).toString('hex')}`;
    for (const nodeId of ['order-a', 'order-b']) {
      redisNodes.push(
        await startServer({ ...serverOptions, redisUrl: redis.url, redisPrefix: prefix, nodeId }),
      );
    }
    return redisNodes;
  },
  async () => {
    await redis?.stop();
  },
);

let cluster: RedisClusterProcess | null = null;
suite(
  'two nodes over a Redis Cluster of 3 masters (sharded pub/sub)',
  async () => {
    cluster = await startRedisCluster(3);
    const prefix = `orderc-${randomBytes(3).toString('hex')}`;
    const nodes: Server[] = [];
    for (const nodeId of ['orderc-a', 'orderc-b']) {
      nodes.push(
        await startServer({
          ...serverOptions,
          redisCluster: cluster.nodes,
          redisPrefix: prefix,
          nodeId,
        }),
      );
    }
    return nodes;
  },
  async () => {
    await cluster?.stop();
  },
);

describe('drops of a closing connection', () => {
  it('counts no slow drop for a connection whose client already sent its close frame', async () => {
    const s = await startServer({
      roomPolicies: ['live:*=0/lossy'],
      sendSoftLimitBytes: 16 * 1024,
    });
    try {
      const raw = await RawWs.open(s.port);
      raw.write(frame(1, JSON.stringify({ type: 'join', room: 'live:closing', id: 'j' })));
      await raw.waitText((l) => l.includes('"joined"'));
      // The client starts the closing handshake, then (busy, or slow network) reads nothing more.
      raw.write(frame(8, Buffer.from([0x03, 0xe8])));
      raw.socket.pause();
      await sleep(100);
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${s.url}/api/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ room: 'live:closing', data: 'x'.repeat(8000) }),
        });
        assert.equal(res.status, 200);
      }
      // Nothing it misses now is a slow reader's drop: it rejoins with since and recovers.
      const drops = s.node.stats().drops;
      assert.equal(drops.slow ?? 0, 0, `drops counted: ${JSON.stringify(drops)}`);
      raw.destroy();
    } finally {
      await s.close();
    }
  });
});
