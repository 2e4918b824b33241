/**
 * The contract every `Store` must pass, written against the interface only: the embedded SQLite
 * store and PostgreSQL give the same answers to the same calls. Run it with
 * `storeContract(name, makeStores)` from a `*.test.ts` file; `makeStores` returns fresh, not yet
 * started stores that share one database (two nodes of a cluster) when the backend can.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { commentJson } from '../../src/store/comment-json.js';
import { messageId, rankOf } from '../../src/store/density.js';
import type { SegmentQuery, Store, StoredMessage } from '../../src/store/types.js';

/** Stores of one backend and how to release it. */
export interface StoreSet {
  stores: Store[];
  cleanup(): Promise<void>;
}

/** A room name no other case uses. */
function room(prefix = 'vod'): string {
  return `${prefix}:${randomBytes(5).toString('hex')}`;
}

/** A message at broker position (epoch, offset). */
export function message(
  roomName: string,
  offset: number,
  fields: Partial<StoredMessage> = {},
): StoredMessage {
  const epoch = fields.epoch ?? 'ep1';
  return {
    room: roomName,
    id: messageId(epoch, offset),
    epoch,
    offset,
    t: offset * 100,
    ts: 1_700_000_000_000 + offset,
    from: `user${offset % 7}`,
    priority: 0,
    data: JSON.stringify({ text: `comment ${offset}` }),
    ...fields,
  };
}

const ids = (list: StoredMessage[]) => list.map((m) => m.id);

/** A rendered segment's bytes as text, after checking they are exactly its UTF-8 encoding. */
export function textOf(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  assert.deepEqual(Buffer.from(text), Buffer.from(bytes), 'valid UTF-8');
  return text;
}

/**
 * A segment's rows, after checking that the rendered reads are exactly those rows as
 * `commentJson` renders them, in the same order: from the rows, and as viewers get it
 * (`segmentComments`) twice, the second time from the stored copy the first one kept.
 */
async function segment(s: Store, q: SegmentQuery): Promise<StoredMessage[]> {
  const rows = await s.segment(q);
  const expected = rows.map(commentJson).join(',');
  assert.equal(textOf(await s.segmentCommentsFromRows(q)), expected, 'rendered from the rows');
  assert.equal(textOf(await s.segmentComments(q)), expected, 'a first viewer read');
  assert.equal(textOf(await s.segmentComments(q)), expected, 'a second viewer read');
  return rows;
}

/** Registers the contract cases for one store kind. */
export function storeContract(name: string, makeStores: () => Promise<StoreSet>): void {
  describe(`store contract: ${name}`, () => {
    const run = (title: string, fn: (stores: Store[]) => Promise<void>) =>
      it(title, async () => {
        const set = await makeStores();
        try {
          for (const store of set.stores) await store.start();
          await fn(set.stores);
        } finally {
          for (const store of set.stores) await store.close();
          await set.cleanup();
        }
      });

    run(
      'timeline: a range in t order (then id), [from, to) bounds, every field kept',
      async ([s]) => {
        const r = room();
        const batch = [5, 3, 9, 1, 7].map((o) => message(r, o, { t: o === 9 ? 300 : o * 100 }));
        await s!.append(batch);
        const got = await s!.timeline({ room: r, from: 300, to: 700, limit: 100 });
        assert.deepEqual(ids(got), ['ep1.3', 'ep1.9', 'ep1.5']);
        assert.deepEqual(got[0], batch[1]);
        assert.deepEqual(await s!.timeline({ room: r, from: 0, to: 100, limit: 100 }), []);
        assert.deepEqual(await s!.timeline({ room: `${r}x`, from: 0, to: 1e9, limit: 100 }), []);
      },
    );

    run(
      'timeline pages: limit, then after the last row, with equal t broken by id',
      async ([s]) => {
        const r = room();
        await s!.append(Array.from({ length: 25 }, (_, i) => message(r, i + 1, { t: 1000 })));
        const seen: string[] = [];
        let after: { t: number; id: string } | undefined;
        for (let page = 0; page < 10; page++) {
          const rows = await s!.timeline({ room: r, from: 0, to: 2000, limit: 10, after });
          seen.push(...ids(rows));
          if (rows.length < 10) break;
          const last = rows[rows.length - 1]!;
          after = { t: last.t!, id: last.id };
        }
        assert.equal(seen.length, 25);
        assert.deepEqual(seen, [...seen].sort());
      },
    );

    run('append is idempotent: a retried batch never duplicates', async ([s]) => {
      const r = room();
      const batch = [1, 2, 3].map((o) => message(r, o));
      await s!.append(batch);
      await s!.append(batch);
      await s!.append([message(r, 2, { data: '"changed"' }), message(r, 4)]);
      const got = await s!.timeline({ room: r, from: 0, to: 1e9, limit: 100 });
      assert.deepEqual(ids(got), ['ep1.1', 'ep1.2', 'ep1.3', 'ep1.4']);
      assert.equal(got[1]!.data, batch[1]!.data, 'the first write wins');
    });

    run('segment: at most N a second, paid and system always kept, chosen by rank', async ([s]) => {
      const r = room();
      const batch: StoredMessage[] = [];
      for (let i = 1; i <= 60; i++) batch.push(message(r, i, { t: 1000 + (i % 1000) }));
      for (let i = 61; i <= 63; i++) batch.push(message(r, i, { t: 1500, priority: 2 }));
      batch.push(message(r, 64, { t: 1999, priority: 3 }));
      for (let i = 65; i <= 67; i++) batch.push(message(r, i, { t: 2500 })); // a quiet second
      await s!.append(batch);
      const got = await segment(s!, { room: r, from: 0, to: 360_000, perSecond: 10 });
      const second1 = got.filter((m) => m.t! < 2000);
      assert.equal(second1.length, 10);
      const kept = second1.filter((m) => m.priority >= 2);
      assert.equal(kept.length, 4, 'every paid and system comment');
      const expected = batch
        .filter((m) => m.t! < 2000 && m.priority < 2)
        .sort((a, b) => rankOf(a.id) - rankOf(b.id) || (a.id < b.id ? -1 : 1))
        .slice(0, 6)
        .map((m) => m.id)
        .sort();
      assert.deepEqual(ids(second1.filter((m) => m.priority < 2)).sort(), expected);
      assert.equal(got.filter((m) => m.t! >= 2000).length, 3, 'a second under the cap is whole');
      const sorted = [...got].sort((a, b) => a.t! - b.t! || (a.id < b.id ? -1 : 1));
      assert.deepEqual(ids(got), ids(sorted), 'ordered by t, then id');
      assert.deepEqual(await segment(s!, { room: r, from: 0, to: 360_000, perSecond: 10 }), got);
    });

    run('segment: more kept comments than the cap are all kept', async ([s]) => {
      const r = room();
      const batch = Array.from({ length: 12 }, (_, i) =>
        message(r, i + 1, { t: 5000, priority: 2 }),
      );
      await s!.append([...batch, message(r, 13, { t: 5001 })]);
      const got = await segment(s!, { room: r, from: 0, to: 10_000, perSecond: 5 });
      assert.equal(got.length, 12);
      assert.ok(got.every((m) => m.priority === 2));
    });

    run(
      'segment: a deleted comment leaves no hole; its place goes to the next by the rule',
      async ([s]) => {
        const r = room();
        const batch = Array.from({ length: 40 }, (_, i) => message(r, i + 1, { t: 7000 + i }));
        batch.push(message(r, 41, { t: 7500, priority: 1 })); // highlight: before every normal one
        await s!.append(batch);
        const order = batch
          .filter((m) => m.priority === 0)
          .sort((a, b) => rankOf(a.id) - rankOf(b.id) || (a.id < b.id ? -1 : 1))
          .map((m) => m.id);
        const read = () => segment(s!, { room: r, from: 0, to: 360_000, perSecond: 10 });
        const before = await read();
        assert.deepEqual(ids(before).sort(), ['ep1.41', ...order.slice(0, 9)].sort());
        assert.equal(await s!.remove(r, order[0]!), true);
        const after = await read();
        assert.deepEqual(ids(after).sort(), ['ep1.41', ...order.slice(1, 10)].sort());
      },
    );

    run('segment: bounds off whole seconds cap each second inside [from, to) only', async ([s]) => {
      const r = room();
      const batch = Array.from({ length: 30 }, (_, i) => message(r, i + 1, { t: 1000 + i * 66 }));
      await s!.append(batch);
      const got = await segment(s!, { room: r, from: 1500, to: 1900, perSecond: 3 });
      const inside = batch.filter((m) => m.t! >= 1500 && m.t! < 1900);
      const expected = inside
        .sort((a, b) => rankOf(a.id) - rankOf(b.id) || (a.id < b.id ? -1 : 1))
        .slice(0, 3)
        .sort((a, b) => a.t! - b.t!);
      assert.deepEqual(ids(got), ids(expected));
    });

    run('before: pages back through chat history, oldest first', async ([s]) => {
      const r = room('chat');
      for (let o = 1; o <= 30; o += 10) {
        await s!.append(Array.from({ length: 10 }, (_, i) => message(r, o + i, { t: null })));
      }
      const page = await s!.before({ room: r, before: { epoch: 'ep1', offset: 21 }, limit: 5 });
      assert.deepEqual(
        page.map((m) => m.offset),
        [16, 17, 18, 19, 20],
      );
      const latest = await s!.before({ room: r, before: null, limit: 3 });
      assert.deepEqual(
        latest.map((m) => m.offset),
        [28, 29, 30],
      );
      const first = await s!.before({ room: r, before: { epoch: 'ep1', offset: 3 }, limit: 10 });
      assert.deepEqual(
        first.map((m) => m.offset),
        [1, 2],
      );
      const later = await s!.before({ room: r, before: { epoch: 'ep1', offset: 99 }, limit: 2 });
      assert.deepEqual(
        later.map((m) => m.offset),
        [29, 30],
        'a position past the stored ones',
      );
    });

    run('before: crosses into an older epoch', async ([s]) => {
      const r = room('chat');
      await s!.append([1, 2, 3].map((o) => message(r, o, { epoch: 'old', t: null })));
      await s!.append([1, 2].map((o) => message(r, o, { epoch: 'new', t: null })));
      const page = await s!.before({ room: r, before: { epoch: 'new', offset: 2 }, limit: 3 });
      assert.deepEqual(ids(page), ['old.2', 'old.3', 'new.1']);
    });

    run('remove: gone from every read; a second remove finds nothing', async ([s]) => {
      const r = room();
      await s!.append([1, 2, 3].map((o) => message(r, o, { t: 1000 })));
      assert.equal(await s!.remove(r, 'ep1.2'), true);
      assert.equal(await s!.remove(r, 'ep1.2'), false);
      assert.equal(await s!.remove(r, 'nope'), false);
      const got = await s!.timeline({ room: r, from: 0, to: 1e9, limit: 10 });
      assert.deepEqual(ids(got), ['ep1.1', 'ep1.3']);
      const seg = await segment(s!, { room: r, from: 0, to: 360_000, perSecond: 30 });
      assert.deepEqual(ids(seg), ['ep1.1', 'ep1.3']);
      assert.deepEqual(ids(await s!.before({ room: r, before: null, limit: 10 })), [
        'ep1.1',
        'ep1.3',
      ]);
    });

    run('expire: deletes what was accepted before a time, in bounded batches', async ([s]) => {
      const r = room();
      await s!.append(Array.from({ length: 20 }, (_, i) => message(r, i + 1, { ts: 1000 + i })));
      assert.equal(await s!.expire(1005, 3), 3);
      assert.equal(await s!.expire(1005, 100), 2);
      const got = await s!.timeline({ room: r, from: 0, to: 1e9, limit: 100 });
      assert.equal(got.length, 15);
      assert.ok(got.every((m) => m.ts >= 1005));
    });

    run(
      'text with HTML, quotes, control characters and emoji comes back byte for byte',
      async ([s]) => {
        const r = room();
        const text = '<img src=x onerror=alert(1)> "q" \\ \u0001\u001f\n\t 弹幕 😀 \u2028';
        const m = message(r, 1, { data: JSON.stringify({ text }), from: 'ü<b>' });
        await s!.append([m]);
        const [got] = await s!.timeline({ room: r, from: 0, to: 1e9, limit: 1 });
        assert.deepEqual(got, m);
        assert.equal(JSON.parse(got!.data).text, text);
      },
    );

    run(
      'segmentComments: every class, a null sender and awkward text render as commentJson does',
      async ([s]) => {
        const r = room();
        const text =
          '<img src=x onerror=alert(1)> "q" \\ \u0001\u001f\b\f\r\n\t\u007f 弹幕 😀 \u2028';
        const batch = [0, 1, 2, 3].map((priority) =>
          message(r, priority + 1, { priority, t: 1000 + priority, from: `ü<b>"${text}` }),
        );
        batch.push(message(r, 5, { t: 1004, from: null, data: JSON.stringify({ text }) }));
        batch.push(message(r, 6, { t: 1004, epoch: 'e"\\\u0002', data: '[1,{"a":null}]' }));
        await s!.append(batch);
        const q = { room: r, from: 0, to: 360_000, perSecond: 30 };
        const rows = await segment(s!, q);
        assert.equal(rows.length, 6);
        const parsed = JSON.parse(`[${textOf(await s!.segmentComments(q))}]`) as { from: string }[];
        assert.equal(parsed[0]!.from, `ü<b>"${text}`);
        const empty = { ...q, room: `${r}x` };
        assert.equal(textOf(await s!.segmentComments(empty)), '', 'an empty segment');
        assert.equal(
          textOf(await s!.segmentComments(empty)),
          '',
          'an empty segment, read again (not kept: segment-copies.test.ts)',
        );
      },
    );

    run('appends issued at once each commit, every field kept, in any mix', async ([s]) => {
      // A store may commit waiting batches together (the embedded one does): each must still
      // resolve, and every row come back as written, whatever it holds.
      const r = room();
      const batches = Array.from({ length: 6 }, (_, b) =>
        Array.from({ length: 40 }, (_, i) => {
          const o = b * 40 + i + 1;
          return message(r, o, {
            t: o % 5 === 0 ? null : o * 10,
            from: o % 3 === 0 ? null : o % 3 === 1 ? `u${o}` : '',
            priority: o % 4,
            data: JSON.stringify({ text: o % 2 === 0 ? `弹幕 ${o} 😀` : '' }),
          });
        }),
      );
      await Promise.all(batches.map((batch) => s!.append(batch)));
      const all = batches.flat();
      const got = await s!.timeline({ room: r, from: 0, to: 1e9, limit: 1000 });
      const timed = all.filter((m) => m.t !== null).sort((a, b) => a.t! - b.t!);
      assert.deepEqual(got, timed);
      const untimed = await s!.before({ room: r, before: null, limit: 1000 });
      assert.equal(untimed.length, all.length);
      const byId = new Map(all.map((m) => [m.id, m]));
      for (const m of untimed) assert.deepEqual(m, byId.get(m.id));
    });

    run(
      'segment copies: a write, a delete or an expiry shows in the next read, on every node',
      async (stores) => {
        const [a, b] = [stores[0]!, stores[stores.length - 1]!];
        const r = room();
        const q = { room: r, from: 360_000, to: 720_000, perSecond: 30 };
        const idsOf = async (s: Store, query: SegmentQuery = q) =>
          (JSON.parse(`[${textOf(await s.segmentComments(query))}]`) as { id: string }[]).map(
            (c) => c.id,
          );
        await a.append([1, 2, 3].map((o) => message(r, o, { t: 400_000 + o, ts: 5000 + o })));
        assert.deepEqual(await idsOf(a), ['ep1.1', 'ep1.2', 'ep1.3']);
        assert.deepEqual(await idsOf(b), ['ep1.1', 'ep1.2', 'ep1.3'], 'the other node');
        await b.append([message(r, 4, { t: 400_500, ts: 9000 })]);
        assert.deepEqual(await idsOf(a), ['ep1.1', 'ep1.2', 'ep1.3', 'ep1.4'], 'a write elsewhere');
        await a.append([message(r, 5, { t: 719_999, ts: 9000 })]);
        assert.deepEqual(await idsOf(b), ['ep1.1', 'ep1.2', 'ep1.3', 'ep1.4', 'ep1.5'], 'last ms');
        await a.append([message(r, 6, { t: 720_000, ts: 9000 })]);
        await a.append([message(r, 7, { t: 359_999, ts: 9000 })]);
        assert.deepEqual(await idsOf(b), ['ep1.1', 'ep1.2', 'ep1.3', 'ep1.4', 'ep1.5'], 'outside');
        assert.equal(await b.remove(r, 'ep1.4'), true);
        assert.deepEqual(await idsOf(a), ['ep1.1', 'ep1.2', 'ep1.3', 'ep1.5'], 'a delete');
        // Other cases' rooms may hold older rows too: only this room's are checked.
        assert.ok((await b.expire(5002, 10_000)) >= 1); // ep1.1
        assert.deepEqual(await idsOf(a), ['ep1.2', 'ep1.3', 'ep1.5'], 'an expiry');
        const sparse = { ...q, perSecond: 1 };
        assert.equal((await idsOf(a, sparse)).length, 2, 'each density has its own copy');
        assert.equal(
          textOf(await a.segmentComments(sparse)),
          textOf(await a.segmentCommentsFromRows(sparse)),
        );
        assert.equal((await idsOf(a)).length, 3);
        // A segment whose bounds are not whole minutes (minutes 5 and 6).
        const odd = { room: r, from: 359_500, to: 360_500, perSecond: 30 };
        assert.deepEqual(await idsOf(a, odd), ['ep1.7']);
        await b.append([message(r, 8, { t: 360_100, ts: 9000 })]);
        assert.deepEqual(await idsOf(a, odd), ['ep1.7', 'ep1.8']);
        await b.append([message(r, 9, { t: 359_600, ts: 9000 })]);
        assert.deepEqual(await idsOf(a, odd), ['ep1.9', 'ep1.7', 'ep1.8']);
      },
    );

    run('two nodes on one database write a comment exactly once', async (stores) => {
      if (stores.length < 2) return;
      const r = room();
      const batch = Array.from({ length: 50 }, (_, i) => message(r, i + 1));
      await Promise.all([stores[0]!.append(batch), stores[1]!.append(batch.slice(10))]);
      const got = await stores[1]!.timeline({ room: r, from: 0, to: 1e9, limit: 100 });
      assert.equal(got.length, 50);
      assert.deepEqual(await stores[0]!.timeline({ room: r, from: 0, to: 1e9, limit: 100 }), got);
    });
  });
}
