/**
 * The PostgreSQL inbox's user locks, on a PostgreSQL this test starts: the expiry and key sweeps
 * pass over the rows of a user whose lock another transaction holds (they never wait for one, so
 * they never join a deadlock) to the rows behind them, and take that user's in a later round, once
 * it is free.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { INBOX_LOCK_CLASS } from '../../src/store/inbox-steps.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { newAlert } from '../support/new-alert.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';

const T0 = 1_800_000_000_000;
let pg: PostgresProcess;
let store: PostgresStore;
let holder: postgres.Sql;
before(async () => {
  pg = await startPostgres();
  store = new PostgresStore({ url: pg.url });
  await store.start();
  holder = postgres(pg.url, { max: 1, onnotice: () => {} });
});
after(async () => {
  await holder?.end();
  await store?.close();
  await pg?.stop();
});

const alert = (userId: string, n: number) =>
  newAlert(userId, `${userId}-${n}`, T0 + n, { expiresAt: T0 + 10, key: `key-${n}` });

describe('postgres inbox locks', () => {
  it('the sweeps pass over a user another transaction holds, and take it once free', {
    timeout: 60_000,
  }, async () => {
    // The held user's rows come first and outnumber a round, so a sweep that stopped at them
    // (or waited for their lock) would never reach the free user's.
    for (let n = 1; n <= 8; n++) await store.putAlert(alert('busy', n), 100);
    for (let n = 11; n <= 13; n++) await store.putAlert(alert('free', n), 100);
    const users = (list: { userId: string }[]) => [...new Set(list.map((e) => e.userId))];
    await holder.begin(async (tx) => {
      // A sweep that waited for this lock would hang here (the test's timeout ends it).
      await tx`SELECT pg_advisory_xact_lock(${INBOX_LOCK_CLASS}, hashtext('busy'))`;
      const swept = await store.expireAlerts(T0 + 100, 5);
      assert.deepEqual(users(swept), ['free']);
      assert.equal(swept.length, 3);
      assert.equal(await store.forgetKeys(T0 + 100, 5), 3);
      assert.deepEqual(await store.expireAlerts(T0 + 100, 5), [], 'busy is still held');
    });
    const later = await store.expireAlerts(T0 + 100, 5);
    assert.deepEqual(users(later), ['busy']);
    assert.equal(later.length, 5, 'a round takes up to max');
    assert.equal((await store.expireAlerts(T0 + 100, 5)).length, 3);
    assert.equal(await store.forgetKeys(T0 + 100, 100), 8);
  });
});
