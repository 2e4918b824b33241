/**
 * The contract every `Broker` must pass, written against the interface only. Run it with
 * `brokerContract(name, makeBrokers)` from a `*.test.ts` file.
 *
 * `makeBrokers` returns fresh, not yet started brokers that share one backend (nodes of one
 * cluster) and nothing with earlier calls, built with `historySize: CONTRACT_HISTORY_SIZE`,
 * `historyTtlMs: CONTRACT_HISTORY_TTL_MS` and (when there are several) a presence TTL of
 * `CONTRACT_PRESENCE_TTL_MS`. Cases that need two nodes are registered only when it returns two
 * or more brokers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Broker } from '../../src/broker/types.js';
import { type MessageParts, messageLine, pushLine } from '../../src/protocol/index.js';
import { eventually, partsOf, Recorder, roomName, sleep } from './helpers.js';

export { eventually, partsOf, Recorder, roomName, sleep } from './helpers.js';

/** History size the brokers under test must be built with. */
export const CONTRACT_HISTORY_SIZE = 50;
/** History TTL the brokers under test must be built with, ms. */
export const CONTRACT_HISTORY_TTL_MS = 120_000;
/** Presence TTL of multi-node brokers under test, ms. */
export const CONTRACT_PRESENCE_TTL_MS = 1000;

/** Brokers of one backend and how to release it. */
export interface BrokerSet {
  brokers: Broker[];
  cleanup(): Promise<void>;
}

/** Publishes `count` messages in sequence; returns their parts in order. */
async function publishMany(broker: Broker, room: string, count: number, from = 0) {
  const parts: MessageParts[] = [];
  for (let i = from; i < from + count; i++) {
    const p = partsOf(room, i);
    await broker.publish({ room, parts: p, ts: Date.now() });
    parts.push(p);
  }
  return parts;
}

interface Env {
  brokers: Broker[];
  recorders: Recorder[];
}

/** Registers the contract cases for one broker kind. */
export function brokerContract(name: string, makeBrokers: () => Promise<BrokerSet>): void {
  describe(`broker contract: ${name}`, async () => {
    const probe = await makeBrokers();
    const nodes = probe.brokers.length;
    await probe.cleanup();

    const run = (title: string, fn: (env: Env) => Promise<void>) =>
      it(title, async () => {
        const set = await makeBrokers();
        const recorders = set.brokers.map(() => new Recorder());
        try {
          await Promise.all(set.brokers.map((b, i) => b.start(recorders[i]!)));
          await fn({ brokers: set.brokers, recorders });
        } finally {
          await Promise.all(set.brokers.map((b) => b.close()));
          await set.cleanup();
        }
      });

    run('health is ok once started', async ({ brokers }) => {
      for (const b of brokers) assert.deepEqual(b.health().ok, true);
    });

    run('offsets strictly increase from 1 and keep one epoch', async ({ brokers }) => {
      const room = roomName();
      const results = [];
      for (let i = 0; i < 5; i++) {
        results.push(await brokers[0]!.publish({ room, parts: partsOf(room, i), ts: Date.now() }));
      }
      assert.deepEqual(
        results.map((r) => r.offset),
        [1, 2, 3, 4, 5],
      );
      assert.equal(new Set(results.map((r) => r.epoch)).size, 1);
      const h = await brokers[0]!.history({ room });
      assert.equal(h.offset, 5);
      assert.equal(h.epoch, results[0]!.epoch);
      assert.deepEqual(h.lines, []);
    });

    run(
      "a member's read of a new room answers offset 0, and its epoch is the one publishes use",
      async ({ brokers }) => {
        const room = roomName();
        await brokers[0]!.subscribeRoom(room);
        const before = await brokers[0]!.history({ room, limit: 10 });
        assert.equal(before.offset, 0);
        assert.equal(before.recovered, false);
        assert.deepEqual(before.lines, []);
        const r = await brokers[0]!.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
        assert.equal(r.epoch, before.epoch);
        const h = await brokers[0]!.history({ room, since: { offset: 0, epoch: before.epoch } });
        assert.equal(h.recovered, true);
        assert.deepEqual(h.lines.map(String), [messageLine(partsOf(room, 0), 1).toString()]);
      },
    );

    run('reading an empty room creates nothing', async ({ brokers }) => {
      const b = brokers[0]!;
      const before = b.roomState();
      const rooms = Array.from({ length: 20 }, () => roomName('empty'));
      for (const room of rooms) {
        const h = await b.history({ room, limit: 10, since: { offset: 0, epoch: 'made-up' } });
        assert.deepEqual([h.offset, h.recovered, h.lines.length], [0, false, 0]);
      }
      assert.deepEqual(b.roomState(), before);
      // Nothing was stored: a publish starts each room afresh (and is counted).
      const r = await b.publish({ room: rooms[0]!, parts: partsOf(rooms[0]!, 0), ts: Date.now() });
      assert.equal(r.offset, 1);
      assert.equal(b.roomState().streamsCreated, before.streamsCreated + 1);
    });

    run("an empty room's state does not outlive its member", async ({ brokers }) => {
      const b = brokers[0]!;
      const before = b.roomState();
      const rooms = Array.from({ length: 20 }, () => roomName('flood'));
      const epochs = new Map<string, string>();
      for (const room of rooms) {
        await b.subscribeRoom(room);
        epochs.set(room, (await b.history({ room, limit: 10 })).epoch);
        await b.unsubscribeRoom(room);
      }
      assert.equal(b.roomState().streams, before.streams);
      // Whatever was stored for the members (at most a short-lived epoch) goes: a reader then
      // gets a fresh epoch, not the one the members were told.
      await eventually(
        'the empty rooms to be forgotten',
        async () => {
          for (const room of rooms) {
            if ((await b.history({ room })).epoch === epochs.get(room)) return false;
          }
          return true;
        },
        CONTRACT_PRESENCE_TTL_MS * 5,
      );
      assert.equal(b.roomState().streams, before.streams);
    });

    run('an empty room keeps its epoch while a member holds it', async ({ brokers, recorders }) => {
      const room = roomName();
      for (const b of brokers) await b.subscribeRoom(room);
      const { epoch } = await brokers[0]!.history({ room });
      assert.equal(brokers[0]!.roomState().streams >= 1, true);
      // Longer than any short-lived empty-room state: it must be renewed while held.
      await sleep(CONTRACT_PRESENCE_TTL_MS * 3);
      const later = brokers.at(-1)!;
      assert.equal((await later.history({ room })).epoch, epoch);
      const r = await later.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      assert.equal(r.epoch, epoch);
      await eventually('delivery', () => recorders.every((rec) => rec.of(room).length === 1));
      assert.deepEqual(
        recorders.flatMap((rec) => rec.resyncs),
        [],
      );
    });

    run('publish reaches a subscribed node, not an unsubscribed room', async (env) => {
      const [b] = env.brokers;
      const [rec] = env.recorders;
      const room = roomName();
      const other = roomName('other');
      await b!.subscribeRoom(room);
      const r0 = await b!.publish({ room: other, parts: partsOf(other, 0), ts: Date.now() });
      const r1 = await b!.publish({ room, parts: partsOf(room, 1), ts: Date.now() });
      await eventually('delivery', () => rec!.of(room).length === 1);
      assert.deepEqual(rec!.of(room), [
        { offset: r1.offset, line: messageLine(partsOf(room, 1), r1.offset).toString() },
      ]);
      // The unsubscribed room's message was published first: had it come, it would be here.
      await sleep(50);
      assert.equal(rec!.of(other).length, 0);
      assert.equal(r0.offset, 1);
    });

    run('order is kept under 200 concurrent publishes', async (env) => {
      const [b] = env.brokers;
      const [rec] = env.recorders;
      const room = roomName();
      await b!.subscribeRoom(room);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          b!.publish({ room, parts: partsOf(room, i), ts: Date.now() }),
        ),
      );
      const offsets = results.map((r) => r.offset).sort((x, y) => x - y);
      assert.deepEqual(
        offsets,
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      await eventually('200 deliveries', () => rec!.of(room).length === 200, 10_000);
      const got = rec!.of(room);
      assert.deepEqual(
        got.map((p) => p.offset),
        offsets,
      );
      const expected = new Map(
        results.map((r, i) => [r.offset, messageLine(partsOf(room, i), r.offset).toString()]),
      );
      for (const p of got) assert.equal(p.line, expected.get(p.offset));
      // History holds the same lines in the same order.
      const h = await b!.history({ room, limit: CONTRACT_HISTORY_SIZE });
      assert.deepEqual(
        h.lines.map(String),
        got.slice(-CONTRACT_HISTORY_SIZE).map((p) => p.line),
      );
    });

    run('history since a held position recovers every later message', async ({ brokers }) => {
      const room = roomName();
      const parts = await publishMany(brokers[0]!, room, 5);
      const { epoch } = await brokers[0]!.history({ room });
      const h = await brokers[0]!.history({ room, since: { offset: 2, epoch }, limit: 1 });
      assert.equal(h.recovered, true);
      assert.equal(h.offset, 5);
      assert.deepEqual(
        h.lines.map(String),
        [3, 4, 5].map((o) => messageLine(parts[o - 1]!, o).toString()),
      );
    });

    run('history since the current offset recovers with no lines', async ({ brokers }) => {
      const room = roomName();
      await publishMany(brokers[0]!, room, 3);
      const { epoch } = await brokers[0]!.history({ room });
      const h = await brokers[0]!.history({ room, since: { offset: 3, epoch }, limit: 5 });
      assert.deepEqual(h.recovered, true);
      assert.deepEqual(h.lines, []);
    });

    run('history trimmed by count: recovered false and no lines', async ({ brokers }) => {
      const room = roomName();
      const parts = await publishMany(brokers[0]!, room, CONTRACT_HISTORY_SIZE + 10);
      const { epoch, offset } = await brokers[0]!.history({ room });
      assert.equal(offset, CONTRACT_HISTORY_SIZE + 10);
      const h = await brokers[0]!.history({ room, since: { offset: 5, epoch } });
      assert.equal(h.recovered, false);
      assert.deepEqual(h.lines, []);
      // The oldest held message is offset 11: since 10 is still whole.
      const edge = await brokers[0]!.history({ room, since: { offset: 10, epoch } });
      assert.equal(edge.recovered, true);
      assert.equal(edge.lines.length, CONTRACT_HISTORY_SIZE);
      assert.equal(edge.lines[0]!.toString(), messageLine(parts[10]!, 11).toString());
      // Not recovered, with a limit: the last N.
      const limited = await brokers[0]!.history({ room, since: { offset: 5, epoch }, limit: 3 });
      assert.equal(limited.recovered, false);
      assert.deepEqual(
        limited.lines.map(String),
        [58, 59, 60].map((o) => messageLine(parts[o - 1]!, o).toString()),
      );
    });

    run('history with a wrong epoch is not recovered', async ({ brokers }) => {
      const room = roomName();
      await publishMany(brokers[0]!, room, 3);
      const h = await brokers[0]!.history({ room, since: { offset: 1, epoch: 'not-this-one' } });
      assert.equal(h.recovered, false);
      assert.deepEqual(h.lines, []);
      assert.equal(h.offset, 3);
    });

    run('history since a future offset is not recovered', async ({ brokers }) => {
      const room = roomName();
      await publishMany(brokers[0]!, room, 3);
      const { epoch } = await brokers[0]!.history({ room });
      const h = await brokers[0]!.history({ room, since: { offset: 9, epoch } });
      assert.equal(h.recovered, false);
      assert.deepEqual(h.lines, []);
    });

    run('history with limit N returns the last N, oldest first', async ({ brokers }) => {
      const room = roomName();
      const parts = await publishMany(brokers[0]!, room, 8);
      const h = await brokers[0]!.history({ room, limit: 3 });
      assert.equal(h.recovered, false);
      assert.deepEqual(
        h.lines.map(String),
        [6, 7, 8].map((o) => messageLine(parts[o - 1]!, o).toString()),
      );
      const all = await brokers[0]!.history({ room, limit: 100 });
      assert.equal(all.lines.length, 8);
    });

    run('unsubscribe stops delivery', async (env) => {
      const [b] = env.brokers;
      const [rec] = env.recorders;
      const room = roomName();
      const marker = roomName('marker');
      await b!.subscribeRoom(room);
      await b!.subscribeRoom(marker);
      await b!.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      await eventually('first delivery', () => rec!.of(room).length === 1);
      await b!.unsubscribeRoom(room);
      await b!.unsubscribeRoom(room); // idempotent
      await b!.publish({ room, parts: partsOf(room, 1), ts: Date.now() });
      await b!.publish({ room: marker, parts: partsOf(marker, 0), ts: Date.now() });
      await eventually('marker delivery', () => rec!.of(marker).length === 1);
      await sleep(50);
      assert.equal(rec!.of(room).length, 1);
    });

    run('raced subscribe and unsubscribe end in the last one asked', async (env) => {
      const [b] = env.brokers;
      const [rec] = env.recorders;
      const room = roomName();
      const marker = roomName('marker');
      await b!.subscribeRoom(marker);
      await Promise.all([b!.subscribeRoom(room), b!.unsubscribeRoom(room), b!.subscribeRoom(room)]);
      await b!.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      await eventually('delivery after raced subscribe', () => rec!.of(room).length === 1);
      // Unsubscribe still in flight when the subscribe comes: the subscribe wins.
      await Promise.all([b!.unsubscribeRoom(room), b!.subscribeRoom(room)]);
      await b!.publish({ room, parts: partsOf(room, 1), ts: Date.now() });
      await eventually(
        'delivery after unsubscribe then subscribe',
        () => rec!.of(room).length === 2,
      );
      // Subscribe still in flight when the unsubscribe comes: the unsubscribe wins.
      await b!.unsubscribeRoom(room);
      await Promise.all([b!.subscribeRoom(room), b!.unsubscribeRoom(room)]);
      await Promise.all([
        b!.unsubscribeRoom(room),
        b!.subscribeRoom(room),
        b!.unsubscribeRoom(room),
      ]);
      await b!.publish({ room, parts: partsOf(room, 2), ts: Date.now() });
      await b!.publish({ room: marker, parts: partsOf(marker, 0), ts: Date.now() });
      await eventually('marker delivery', () => rec!.of(marker).length === 1);
      await sleep(50);
      assert.equal(rec!.of(room).length, 2);
    });

    run('push to a user and to all counts the connections handlers report', async (env) => {
      const [b] = env.brokers;
      const [rec] = env.recorders;
      rec!.connections.set('alice', 3);
      rec!.connections.set('*', 7);
      await b!.subscribeUser('alice');
      await b!.subscribeUser('alice'); // idempotent
      const line = pushLine('alert', '{"n":1}', Date.now());
      assert.equal(await b!.push({ kind: 'user', userId: 'alice' }, 'alert', line), 3);
      assert.equal(await b!.push({ kind: 'user', userId: 'nobody' }, 'alert', line), 0);
      assert.equal(await b!.push({ kind: 'all' }, 'news', line), 7);
      const alice = rec!.pushes.find((p) => p.target.kind === 'user' && p.event === 'alert');
      assert.equal(alice?.line, line.toString());
      assert.ok(rec!.pushes.some((p) => p.target.kind === 'all' && p.event === 'news'));
    });

    if (nodes < 2) return;

    run('a publish on one node reaches another node subscribed to the room', async (env) => {
      const [a, b] = env.brokers;
      const [recA, recB] = env.recorders;
      const room = roomName();
      await b!.subscribeRoom(room);
      const parts = await publishMany(a!, room, 20);
      await eventually('cross-node delivery', () => recB!.of(room).length === 20);
      assert.deepEqual(
        recB!.of(room).map((p) => p.line),
        parts.map((p, i) => messageLine(p, i + 1).toString()),
      );
      assert.equal(recA!.of(room).length, 0);
    });

    run('delivered counts are summed across nodes', async (env) => {
      const [a, b] = env.brokers;
      const [recA, recB] = env.recorders;
      recA!.connections.set('bob', 2);
      recB!.connections.set('bob', 3);
      recA!.connections.set('*', 1);
      recB!.connections.set('*', 4);
      await a!.subscribeUser('bob');
      await b!.subscribeUser('bob');
      const line = pushLine('dm', '"hi"', Date.now());
      assert.equal(await a!.push({ kind: 'user', userId: 'bob' }, 'dm', line), 5);
      await b!.unsubscribeUser('bob');
      assert.equal(await a!.push({ kind: 'user', userId: 'bob' }, 'dm', line), 2);
      const all = env.recorders.reduce((s, r) => s + (r.connections.get('*') ?? 0), 0);
      assert.equal(await b!.push({ kind: 'all' }, 'news', line), all);
    });

    run('remoteOnline sums the other nodes and leaves this one out', async (env) => {
      const [a, b] = env.brokers;
      const room = roomName();
      const quiet = roomName('quiet');
      await a!.reportOnline(new Map([[room, 3]]));
      await b!.reportOnline(
        new Map([
          [room, 4],
          [quiet, 0],
        ]),
      );
      const fromA = await a!.remoteOnline([room, quiet]);
      const fromB = await b!.remoteOnline([room]);
      assert.equal(fromA.get(room) ?? 0, 4);
      assert.equal(fromA.get(quiet) ?? 0, 0);
      assert.equal(fromB.get(room) ?? 0, 3);
      // A report replaces the previous one.
      await b!.reportOnline(new Map());
      assert.equal((await a!.remoteOnline([room])).get(room) ?? 0, 0);
    });

    run("a silent node's counts expire", async (env) => {
      const [a, b] = env.brokers;
      const room = roomName();
      await b!.reportOnline(new Map([[room, 5]]));
      assert.equal((await a!.remoteOnline([room])).get(room) ?? 0, 5);
      const start = Date.now();
      await eventually(
        'counts to expire',
        async () => ((await a!.remoteOnline([room])).get(room) ?? 0) === 0,
        CONTRACT_PRESENCE_TTL_MS * 5,
      );
      assert.ok(Date.now() - start >= CONTRACT_PRESENCE_TTL_MS / 2, 'expired too early');
    });
  });
}
