/**
 * The PostgreSQL inbox's user locks, on a PostgreSQL this test starts: the expiry and key sweeps
 * skip a user whose lock another transaction holds (they never wait for one, so they never join a
 * deadlock or hold up a group) and take that user's rows in a later round, once it is free.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { NewAlert } from '../../src/store/inbox.js';
import { INBOX_LOCK_CLASS } from '../../src/store/inbox-steps.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
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

const alert = (userId: string, n: number): NewAlert => ({
  userId,
  alert: `${userId}-${n}`,
  event: 'e',
  data: '{}',
  ts: T0 + n,
  expiresAt: T0 + 10,
  collapseKey: null,
  key: `key-${n}`,
});

describe('postgres inbox locks', () => {
  it('the sweeps skip a user another transaction holds, and take it once free', async () => {
    for (const user of ['busy', 'free']) {
      for (const n of [1, 2, 3]) await store.putAlert(alert(user, n), 100);
    }
    const users = (list: { userId: string }[]) => [...new Set(list.map((e) => e.userId))];
    await holder.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${INBOX_LOCK_CLASS}, hashtext('busy'))`;
      const swept = await store.expireAlerts(T0 + 100, 100);
      assert.deepEqual(users(swept), ['free']);
      assert.equal(swept.length, 3);
      assert.equal(await store.forgetKeys(T0 + 100, 100), 3);
      assert.deepEqual(await store.expireAlerts(T0 + 100, 100), [], 'busy is still held');
    });
    const later = await store.expireAlerts(T0 + 100, 100);
    assert.deepEqual(users(later), ['busy']);
    assert.equal(later.length, 3);
    assert.equal(await store.forgetKeys(T0 + 100, 100), 3);
  });
});
