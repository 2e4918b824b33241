/**
 * The contract of the alert inbox (src/store/inbox.ts), run against every store that keeps one:
 * the embedded SQLite store and PostgreSQL give the same answers. `makeStores` is the store
 * contract's (fresh stores that share one database when the backend can).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ALERT_KEY_TTL_MS,
  type AlertInbox,
  hasInbox,
  type NewAlert,
} from '../../src/store/inbox.js';
import type { Store } from '../../src/store/types.js';
import type { StoreSet } from './store-contract.js';

const T0 = 1_800_000_000_000;
let counter = 0;

/** A user id no other case uses. */
const user = () => `u-${randomBytes(5).toString('hex')}`;

/** An alert of `userId` accepted at T0 + n. */
function alert(userId: string, n: number, fields: Partial<NewAlert> = {}): NewAlert {
  return {
    userId,
    alert: `A${(counter++).toString(36)}${randomBytes(6).toString('hex')}`,
    event: 'order',
    data: JSON.stringify({ n }),
    ts: T0 + n,
    expiresAt: null,
    collapseKey: null,
    key: null,
    ...fields,
  };
}

const ids = (list: { alert: string }[]) => list.map((a) => a.alert);

/** Registers the inbox cases for one store kind. */
export function inboxContract(name: string, makeStores: () => Promise<StoreSet>): void {
  describe(`alert inbox contract: ${name}`, () => {
    const run = (title: string, fn: (stores: (Store & AlertInbox)[]) => Promise<void>) =>
      it(title, async () => {
        const set = await makeStores();
        try {
          for (const store of set.stores) await store.start();
          const inboxes = set.stores.filter(hasInbox);
          assert.equal(inboxes.length, set.stores.length, 'every store keeps an inbox');
          await fn(inboxes);
        } finally {
          for (const store of set.stores) await store.close();
          await set.cleanup();
        }
      });

    run('stores alerts and lists them oldest first, every field kept', async ([s]) => {
      const u = user();
      const a1 = alert(u, 1, { expiresAt: T0 + 10_000 });
      const a2 = alert(u, 2);
      const a3 = alert(u, 3);
      for (const a of [a1, a2, a3]) {
        const r = await s!.putAlert(a, 100);
        assert.deepEqual(r.replaced, []);
        assert.equal(r.duplicate, false);
      }
      const page = await s!.inbox({ userId: u, unreadOnly: false, limit: 2, now: T0 + 5 });
      assert.deepEqual(page.alerts[0], {
        alert: a1.alert,
        event: 'order',
        data: '{"n":1}',
        ts: T0 + 1,
        read: false,
        expiresAt: T0 + 10_000,
      });
      assert.deepEqual(ids(page.alerts), [a1.alert, a2.alert]);
      assert.equal(page.unread, 3);
      assert.equal(page.dropped, 0);
      assert.equal(page.droppedAt, null);
      const other = await s!.inbox({ userId: user(), unreadOnly: false, limit: 10, now: T0 });
      assert.deepEqual(other, { alerts: [], unread: 0, dropped: 0, droppedAt: null });
    });

    run('an idempotency key stores once per user for 24 h', async ([s]) => {
      const u = user();
      const first = alert(u, 1, { key: 'k1' });
      assert.equal((await s!.putAlert(first, 100)).duplicate, false);
      const again = await s!.putAlert(alert(u, 2, { key: 'k1' }), 100);
      assert.deepEqual([again.duplicate, again.alert], [true, first.alert]);
      const otherUser = await s!.putAlert(alert(user(), 3, { key: 'k1' }), 100);
      assert.equal(otherUser.duplicate, false);
      const page = await s!.inbox({ userId: u, unreadOnly: false, limit: 10, now: T0 });
      assert.deepEqual(ids(page.alerts), [first.alert]);
      const late = alert(u, ALERT_KEY_TTL_MS + 10, { key: 'k1' });
      const r = await s!.putAlert(late, 100);
      assert.deepEqual([r.duplicate, r.alert], [false, late.alert]);
    });

    run('a collapse key replaces an unread alert, never a read one', async ([s]) => {
      const u = user();
      const a1 = alert(u, 1, { collapseKey: 'score' });
      await s!.putAlert(a1, 100);
      const a2 = alert(u, 2, { collapseKey: 'score' });
      assert.deepEqual((await s!.putAlert(a2, 100)).replaced, [a1.alert]);
      await s!.markRead(u, [a2.alert], T0 + 3);
      const a3 = alert(u, 4, { collapseKey: 'score' });
      assert.deepEqual((await s!.putAlert(a3, 100)).replaced, []);
      const page = await s!.inbox({ userId: u, unreadOnly: false, limit: 10, now: T0 + 5 });
      assert.deepEqual(ids(page.alerts), [a2.alert, a3.alert]);
      assert.deepEqual(
        page.alerts.map((a) => a.read),
        [true, false],
      );
    });

    run(
      'the cap removes read alerts first, then drops and counts the oldest unread',
      async ([s]) => {
        const u = user();
        const list = [1, 2, 3].map((n) => alert(u, n));
        for (const a of list) await s!.putAlert(a, 3);
        await s!.markRead(u, [list[1]!.alert], T0 + 3);
        const a4 = alert(u, 4);
        const r4 = await s!.putAlert(a4, 3);
        assert.deepEqual([r4.dropped, r4.size, r4.droppedTotal], [[], 3, 0]);
        const a5 = alert(u, 5);
        const r5 = await s!.putAlert(a5, 3);
        assert.deepEqual(r5.dropped, [list[0]!.alert]);
        assert.deepEqual([r5.droppedTotal, r5.droppedAt, r5.size], [1, T0 + 5, 3]);
        const r6 = await s!.putAlert(alert(u, 6), 3);
        assert.deepEqual(
          [r6.dropped, r6.droppedTotal, r6.droppedAt],
          [[list[2]!.alert], 2, T0 + 6],
        );
        const page = await s!.inbox({ userId: u, unreadOnly: true, limit: 10, now: T0 + 7 });
        assert.deepEqual(ids(page.alerts).slice(0, 2), [a4.alert, a5.alert]);
        assert.deepEqual([page.unread, page.dropped, page.droppedAt], [3, 2, T0 + 6]);
      },
    );

    run('markRead: only unread unexpired alerts of the user; the rest is unknown', async ([s]) => {
      const u = user();
      const mine = [1, 2, 3].map((n) => alert(u, n));
      const expiring = alert(u, 4, { expiresAt: T0 + 50 });
      const theirs = alert(user(), 5);
      for (const a of [...mine, expiring, theirs]) await s!.putAlert(a, 100);
      const r = await s!.markRead(
        u,
        [mine[1]!.alert, theirs.alert, mine[0]!.alert, expiring.alert, 'Anope'],
        T0 + 60,
      );
      assert.deepEqual(ids(r.read), [mine[0]!.alert, mine[1]!.alert]);
      assert.deepEqual(r.read[0]!.ts, T0 + 1);
      assert.deepEqual(r.unknown, [theirs.alert, expiring.alert, 'Anope']);
      const again = await s!.markRead(u, [mine[0]!.alert], T0 + 61);
      assert.deepEqual(again, { read: [], unknown: [] });
      const theirsPage = await s!.inbox({
        userId: theirs.userId,
        unreadOnly: true,
        limit: 10,
        now: T0,
      });
      assert.deepEqual(ids(theirsPage.alerts), [theirs.alert], "another user's alert stays unread");
      const all = await s!.markRead(u, null, T0 + 62);
      assert.deepEqual(ids(all.read), [mine[2]!.alert]);
      assert.equal(
        (await s!.inbox({ userId: u, unreadOnly: false, limit: 9, now: T0 + 63 })).unread,
        0,
      );
    });

    run('two stores marking one alert read at once: exactly one reports it', async (stores) => {
      const [a, b] = [stores[0]!, stores[stores.length - 1]!];
      const u = user();
      const list = Array.from({ length: 20 }, (_, i) => alert(u, i));
      for (const x of list) await a.putAlert(x, 100);
      const results = await Promise.all(
        list.flatMap((x) => [a.markRead(u, [x.alert], T0 + 30), b.markRead(u, [x.alert], T0 + 30)]),
      );
      const reported = results.flatMap((r) => ids(r.read)).sort();
      assert.deepEqual(reported, ids(list).sort());
      assert.ok(results.every((r) => r.unknown.length === 0));
    });

    run('two stores storing for one user at once never keep more than the cap', async (stores) => {
      // On PostgreSQL each store is a node with its own transactions: without a per-user lock
      // both count the inbox before the other commits, and the cap is exceeded by one.
      const [a, b] = [stores[0]!, stores[stores.length - 1]!];
      const u = user();
      const cap = 3;
      for (let round = 0; round < 30; round++) {
        const results = await Promise.all([
          a.putAlert(alert(u, 2 * round), cap),
          b.putAlert(alert(u, 2 * round + 1), cap),
        ]);
        for (const r of results) assert.ok(r.size <= cap, `round ${round}: size ${r.size}`);
        const page = await a.inbox({ userId: u, unreadOnly: false, limit: 100, now: T0 });
        assert.ok(page.alerts.length <= cap, `round ${round}: ${page.alerts.length} kept`);
      }
      const page = await b.inbox({ userId: u, unreadOnly: false, limit: 100, now: T0 });
      assert.equal(page.alerts.length, cap);
      assert.equal(page.dropped, 60 - cap);
    });

    run(
      'an ack issued while its alert is being stored finds it (call order per user)',
      async ([s]) => {
        // Alerts are delivered while they are stored, so a device's ack may reach the store while
        // the alert's own group commit is in flight: it must run after that commit, not beside it.
        const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
        const one = async (u: string) => {
          const a = alert(u, 1);
          const put = s!.putAlert(a, 100);
          await turn(); // the put's group has started
          const read = await s!.markRead(u, [a.alert], T0 + 5);
          await put;
          return { a, read };
        };
        const results = await Promise.all(Array.from({ length: 20 }, () => one(user())));
        for (const { a, read } of results) {
          assert.deepEqual(ids(read.read), [a.alert]);
          assert.deepEqual(read.unknown, []);
        }
      },
    );

    run('deleteAlert removes one alert of its user and says whether it was unread', async ([s]) => {
      const u = user();
      const a1 = alert(u, 1);
      const a2 = alert(u, 2);
      await s!.putAlert(a1, 100);
      await s!.putAlert(a2, 100);
      await s!.markRead(u, [a2.alert], T0 + 3);
      assert.deepEqual(await s!.deleteAlert('someone-else', a1.alert, T0 + 4), {
        deleted: false,
        unread: false,
      });
      assert.deepEqual(await s!.deleteAlert(u, a1.alert, T0 + 4), { deleted: true, unread: true });
      assert.deepEqual(await s!.deleteAlert(u, a2.alert, T0 + 4), { deleted: true, unread: false });
      assert.deepEqual(await s!.deleteAlert(u, a2.alert, T0 + 4), {
        deleted: false,
        unread: false,
      });
    });

    run('expired alerts are never listed, and the sweep removes them in batches', async ([s]) => {
      const u = user();
      const soon = [1, 2, 3].map((n) => alert(u, n, { expiresAt: T0 + 100 }));
      const keep = alert(u, 4, { expiresAt: T0 + 10_000 });
      for (const a of [...soon, keep]) await s!.putAlert(a, 100);
      await s!.markRead(u, [soon[0]!.alert], T0 + 5);
      const page = await s!.inbox({ userId: u, unreadOnly: false, limit: 10, now: T0 + 100 });
      assert.deepEqual(ids(page.alerts), [keep.alert]);
      assert.equal(page.unread, 1);
      // Other cases share the database (PostgreSQL): sweep until empty, then look at this user.
      const first = await s!.expireAlerts(T0 + 100, 2);
      assert.ok(first.length > 0 && first.length <= 2, 'a round removes at most `max`');
      const swept = [...first];
      for (let round = 0; round < 100; round++) {
        const more = await s!.expireAlerts(T0 + 100, 2);
        if (more.length === 0) break;
        swept.push(...more);
      }
      assert.deepEqual(
        swept
          .filter((e) => e.userId === u)
          .map((e) => [e.alert, e.unread])
          .sort(),
        soon.map((a, i) => [a.alert, i !== 0]).sort(),
      );
      assert.deepEqual(await s!.expireAlerts(T0 + 100, 2), []);
      const left = await s!.inbox({ userId: u, unreadOnly: false, limit: 10, now: T0 });
      assert.deepEqual(ids(left.alerts), [keep.alert]);
    });
    run('forgetKeys forgets keys taken before a time, a batch at a time', async ([s]) => {
      const u = user();
      for (const [n, key] of [
        [1, 'k1'],
        [2, 'k2'],
        [5000, 'k3'],
      ] as const) {
        assert.equal((await s!.putAlert(alert(u, n, { key }), 100)).duplicate, false);
      }
      assert.equal(await s!.forgetKeys(T0 + 10, 1), 1, 'a round forgets at most `max`');
      // Other cases share the database (PostgreSQL): forget until nothing old is left.
      let rounds = 0;
      while ((await s!.forgetKeys(T0 + 10, 1)) === 1) assert.ok(++rounds < 1000);
      assert.equal(await s!.forgetKeys(T0 + 10, 100), 0);
      // A forgotten key stores again; the key taken after the cutoff is still held.
      assert.equal((await s!.putAlert(alert(u, 6, { key: 'k1' }), 100)).duplicate, false);
      assert.equal((await s!.putAlert(alert(u, 7, { key: 'k2' }), 100)).duplicate, false);
      assert.equal((await s!.putAlert(alert(u, 5001, { key: 'k3' }), 100)).duplicate, true);
    });

    run('the size a put reports follows every path that adds or removes an alert', async ([s]) => {
      const u = user();
      const put = async (n: number, fields: Partial<NewAlert> = {}, cap = 100) =>
        (await s!.putAlert(alert(u, n, fields), cap)).size;
      assert.equal(await put(1), 1);
      assert.equal(await put(2, { collapseKey: 'c' }), 2);
      assert.equal(await put(3, { collapseKey: 'c' }), 2, 'a collapse replaces');
      const temporary = alert(u, 4, { expiresAt: T0 + 50 });
      assert.equal((await s!.putAlert(temporary, 100)).size, 3);
      const doomed = alert(u, 5);
      assert.equal((await s!.putAlert(doomed, 100)).size, 4);
      assert.equal((await s!.deleteAlert(u, doomed.alert, T0 + 6)).deleted, true);
      assert.equal(await put(6, { key: 'k' }), 4);
      assert.equal(await put(7, { key: 'k' }), 0, 'a duplicate stores nothing and counts nothing');
      // Other cases share the database (PostgreSQL): sweep until this user's alert is gone.
      for (let round = 0; round < 100; round++) {
        if ((await s!.expireAlerts(T0 + 50, 50)).length === 0) break;
      }
      assert.equal(await put(8), 4, 'the sweep removed one');
      assert.equal(await put(9, {}, 3), 3, 'the cap trims to the cap');
      await s!.markRead(u, null, T0 + 10);
      for (const a of (await s!.inbox({ userId: u, unreadOnly: false, limit: 10, now: T0 })).alerts)
        await s!.deleteAlert(u, a.alert, T0 + 11);
      assert.equal(await put(10), 1, 'an emptied inbox starts again at one');
    });

    run(
      'a full inbox trims one alert a put, oldest read first, then oldest unread',
      async ([s]) => {
        const u = user();
        const cap = 300;
        const stored: NewAlert[] = [];
        for (let n = 0; n < cap; n++) stored.push(alert(u, n));
        await Promise.all(stored.map((a) => s!.putAlert(a, cap)));
        await s!.markRead(u, [stored[100]!.alert, stored[200]!.alert], T0 + 1000);
        const dropped: string[] = [];
        for (let n = cap; n < cap + 5; n++) {
          const r = await s!.putAlert(alert(u, n), cap);
          assert.equal(r.size, cap);
          dropped.push(...r.dropped);
        }
        // The two read ones went first (not counted as dropped), then the three oldest unread.
        assert.deepEqual(dropped, [stored[0]!.alert, stored[1]!.alert, stored[2]!.alert]);
        const page = await s!.inbox({ userId: u, unreadOnly: false, limit: cap, now: T0 });
        assert.equal(page.alerts.length, cap);
        assert.equal(page.dropped, 3);
        assert.equal(page.alerts.filter((a) => a.read).length, 0);
      },
    );

    run('operations issued at once (one group commit) answer as if run one by one', async ([s]) => {
      // Everything below is issued before any answer arrives, so a store that groups operations
      // into one transaction sees them together; each must still get its own, in-order answer.
      const users = Array.from({ length: 40 }, () => user());
      const [dupUser, collapseUser, capUser, readUser] = users as [string, string, string, string];
      const plain = users.slice(4).map((u, i) => alert(u, i));
      const first = alert(dupUser, 1, { key: 'same' });
      const second = alert(dupUser, 2, { key: 'same' });
      const c1 = alert(collapseUser, 1, { collapseKey: 'c' });
      const c2 = alert(collapseUser, 2, { collapseKey: 'c' });
      const capped = [1, 2, 3].map((n) => alert(capUser, n));
      const toRead = alert(readUser, 1);
      const calls = Promise.all([
        Promise.all(plain.map((a) => s!.putAlert(a, 100))),
        s!.putAlert(first, 100),
        s!.putAlert(second, 100),
        s!.putAlert(c1, 100),
        s!.putAlert(c2, 100),
        Promise.all(capped.map((a) => s!.putAlert(a, 2))),
        s!.putAlert(toRead, 100),
        s!.markRead(readUser, [toRead.alert, 'A-unknown'], T0 + 5),
        s!.inbox({ userId: readUser, unreadOnly: false, limit: 10, now: T0 + 5 }),
      ]);
      const [plainR, firstR, secondR, c1R, c2R, capR, , readR, pageR] = await calls;
      for (const [i, r] of plainR.entries()) {
        assert.deepEqual([r.alert, r.duplicate, r.size], [plain[i]!.alert, false, 1]);
      }
      assert.deepEqual([firstR.alert, firstR.duplicate], [first.alert, false]);
      assert.deepEqual([secondR.alert, secondR.duplicate], [first.alert, true]);
      assert.deepEqual([c1R.replaced, c2R.replaced, c2R.size], [[], [c1.alert], 1]);
      assert.deepEqual(
        capR.map((r) => [r.size, r.dropped, r.droppedTotal]),
        [
          [1, [], 0],
          [2, [], 0],
          [2, [capped[0]!.alert], 1],
        ],
      );
      assert.deepEqual(readR, {
        read: [{ alert: toRead.alert, ts: T0 + 1 }],
        unknown: ['A-unknown'],
      });
      assert.deepEqual(
        pageR.alerts.map((a) => [a.alert, a.read]),
        [[toRead.alert, true]],
      );
      const dup = await s!.inbox({ userId: dupUser, unreadOnly: false, limit: 10, now: T0 });
      assert.deepEqual(ids(dup.alerts), [first.alert]);
      const cap = await s!.inbox({ userId: capUser, unreadOnly: false, limit: 10, now: T0 });
      assert.deepEqual(ids(cap.alerts), [capped[1]!.alert, capped[2]!.alert]);
      assert.equal(cap.dropped, 1);
    });
    run('an operation that fails among others issued at once fails alone', async ([s]) => {
      const taken = alert(user(), 1);
      await s!.putAlert(taken, 100);
      // Alert ids are unique across users: reusing one is refused by the database.
      const clash = alert(user(), 2, { alert: taken.alert });
      const others = Array.from({ length: 20 }, (_, i) => alert(user(), i));
      const [clashR, ...othersR] = await Promise.allSettled([
        s!.putAlert(clash, 100),
        ...others.map((a) => s!.putAlert(a, 100)),
      ]);
      assert.equal(clashR!.status, 'rejected');
      for (const [i, r] of othersR.entries()) {
        assert.equal(r.status, 'fulfilled');
        const page = await s!.inbox({
          userId: others[i]!.userId,
          unreadOnly: false,
          limit: 10,
          now: T0,
        });
        assert.deepEqual(ids(page.alerts), [others[i]!.alert]);
      }
      const clashPage = await s!.inbox({
        userId: clash.userId,
        unreadOnly: false,
        limit: 10,
        now: T0,
      });
      assert.deepEqual(clashPage.alerts, []);
    });
  });
}
