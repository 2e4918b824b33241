/**
 * History semantics of the Redis broker against the memory broker's, on a real redis-server:
 * the same random sequence of publishes and history requests must get the same answers (epochs
 * compared through a mapping), and expiry by age and by meta TTL behave as documented.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBroker } from '../../src/broker/memory/broker.js';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import type { Broker, HistoryRequest, HistoryResult } from '../../src/broker/types.js';
import { partsOf, Recorder, roomName, sleep } from '../contract/broker-contract.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';

let redis: RedisProcess;
let run = 0;
const open: Broker[] = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await Promise.all(open.map((b) => b.close()));
  await redis.stop();
});

async function redisBroker(options: {
  historySize: number;
  historyTtlMs: number;
  metaTtlMs?: number;
}) {
  const broker = createRedisBroker({
    url: redis.url,
    prefix: `hist${++run}`,
    nodeId: 'h',
    ...options,
  });
  await broker.start(new Recorder());
  open.push(broker);
  return broker;
}

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('redis broker history matches the memory broker', () => {
  it('gives the same answers to a random mix of publishes and history requests', async () => {
    const size = 7;
    const memory = new MemoryBroker({ historySize: size, historyTtlMs: 60_000 });
    await memory.start(new Recorder());
    open.push(memory);
    const red = await redisBroker({ historySize: size, historyTtlMs: 60_000 });
    const rooms = [roomName('d'), roomName('d'), roomName('d')];
    // Held as a member would hold them: an empty room's epoch is then kept in both brokers.
    for (const room of rooms) for (const b of [memory, red]) await b.subscribeRoom(room);
    const epochs = new Map<string, string>(); // redis epoch -> memory epoch
    const rand = prng(20_261_122);
    let publishes = 0;
    let requests = 0;
    const outcomes = { recovered: 0, notRecovered: 0, withLines: 0 };
    for (let step = 0; step < 400; step++) {
      const room = rooms[rand(rooms.length)]!;
      if (rand(3) === 0) {
        const parts = partsOf(room, step);
        const m = await memory.publish({ room, parts, ts: Date.now() });
        const r = await red.publish({ room, parts, ts: Date.now() });
        assert.equal(r.offset, m.offset, `step ${step}: offset`);
        publishes++;
        continue;
      }
      // Ask as a client would: around the current offset, sometimes with a stale epoch.
      const current = await memory.history({ room });
      const redisNow = await red.history({ room });
      epochs.set(redisNow.epoch, current.epoch);
      const offset = Math.max(0, current.offset - rand(size * 2 + 2) + 1);
      const stale = rand(8) === 0;
      const limit = rand(3) === 0 ? 0 : rand(size + 3);
      const ask = (epoch: string): HistoryRequest => ({
        room,
        limit,
        ...(rand(5) === 0 ? {} : { since: { offset, epoch: stale ? 'stale' : epoch } }),
      });
      const mRequest = ask(current.epoch);
      const rRequest: HistoryRequest = { ...mRequest };
      if (mRequest.since)
        rRequest.since = { ...mRequest.since, epoch: stale ? 'stale' : redisNow.epoch };
      const m: HistoryResult = await memory.history(mRequest);
      const r: HistoryResult = await red.history(rRequest);
      const what = `step ${step}: ${JSON.stringify(mRequest)}`;
      assert.equal(epochs.get(r.epoch), m.epoch, `${what}: epoch`);
      assert.equal(r.offset, m.offset, `${what}: offset`);
      assert.equal(r.recovered, m.recovered, `${what}: recovered`);
      assert.deepEqual(r.lines.map(String), m.lines.map(String), `${what}: lines`);
      requests++;
      if (m.recovered) outcomes.recovered++;
      else outcomes.notRecovered++;
      if (m.lines.length > 0) outcomes.withLines++;
    }
    assert.ok(publishes > 50 && requests > 150, `${publishes} publishes, ${requests} requests`);
    // Both answers, and lines, were exercised.
    const mix = JSON.stringify(outcomes);
    assert.ok(outcomes.recovered > 30 && outcomes.notRecovered > 30, mix);
    assert.ok(outcomes.withLines > 60, mix);
  });

  it('expires messages by age as the memory broker does', async () => {
    const ttl = 300;
    const red = await redisBroker({ historySize: 50, historyTtlMs: ttl });
    const memory = new MemoryBroker({ historySize: 50, historyTtlMs: ttl });
    await memory.start(new Recorder());
    open.push(memory);
    const room = roomName('age');
    for (const b of [red, memory]) {
      for (let i = 0; i < 3; i++)
        await b.publish({ room, parts: partsOf(room, i), ts: Date.now() });
    }
    const fresh = await red.history({ room, limit: 10 });
    assert.equal(fresh.lines.length, 3);
    await sleep(ttl + 150);
    for (const b of [red, memory]) {
      await b.publish({ room, parts: partsOf(room, 3), ts: Date.now() });
      const { epoch } = await b.history({ room });
      const h = await b.history({ room, since: { offset: 1, epoch }, limit: 10 });
      assert.equal(h.recovered, false, b.kind);
      assert.equal(h.offset, 4, b.kind);
      assert.deepEqual(h.lines.length, 1, `${b.kind}: only the fresh message`);
      const edge = await b.history({ room, since: { offset: 3, epoch } });
      assert.equal(edge.recovered, true, `${b.kind}: since 3 needs only the fresh one`);
    }
  });

  it('starts a forgotten room over with a new epoch', async () => {
    const red = await redisBroker({ historySize: 50, historyTtlMs: 100, metaTtlMs: 200 });
    const room = roomName('meta');
    await red.subscribeRoom(room); // a member's read stores the new epoch
    const first = await red.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
    await sleep(400);
    const h = await red.history({ room, since: { offset: 1, epoch: first.epoch } });
    assert.equal(h.recovered, false);
    assert.equal(h.offset, 0);
    assert.notEqual(h.epoch, first.epoch);
    const again = await red.publish({ room, parts: partsOf(room, 1), ts: Date.now() });
    assert.deepEqual(again, { offset: 1, epoch: h.epoch });
  });
});
