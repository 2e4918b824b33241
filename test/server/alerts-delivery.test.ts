/**
 * When an alert reaches the devices relative to its commit (docs/alerts.md, "At least once, with
 * ids"): without an idempotency id it is delivered while it is stored, and a store that then
 * fails withdraws it (`withdrawn` `not_stored`) while the API call fails; with an id a duplicate
 * never reaches a device. Real sockets, a real SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { type Msg, TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const KEY = 'alerts-delivery-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const dirs: string[] = [];
const clients: TestClient[] = [];
after(() => {
  for (const c of clients) c.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function serverOn(store: SqliteStore) {
  return startServer({ jwtSecret: TEST_SECRET, apiKey: KEY, storeBackend: store });
}

function freshStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-delivery-'));
  dirs.push(dir);
  return new SqliteStore(dir);
}

async function device(url: string, user: string): Promise<TestClient> {
  const c = await TestClient.connect(`${url}?token=${await signToken(user)}`);
  clients.push(c);
  // Its redelivery has run once the inbox answers (both go through the store in call order).
  await c.request({ type: 'inbox', unread: true });
  return c;
}

const persist = (server: { url: string }, body: Record<string, unknown>) =>
  api(server, 'POST', '/api/push', { event: 'order', data: 1, persist: true, ...body }, AUTH);

describe('alert delivery and the commit', () => {
  it('a store that fails after the delivery withdraws the alert, and the call fails', async () => {
    const store = freshStore();
    const server = await serverOn(store);
    try {
      const c = await device(server.wsUrl, 'ann');
      await store.close(); // every store call fails from here on
      const r = await persist(server, { userId: 'ann' });
      assert.equal(r.status, 503);
      assert.equal((r.body.error as { code: string }).code, 'unavailable');
      const pushed = await c.next((m) => m.type === 'push');
      const withdrawn = await c.next((m) => m.type === 'withdrawn');
      assert.deepEqual(withdrawn, {
        type: 'withdrawn',
        alerts: [pushed.alert],
        reason: 'not_stored',
      });
    } finally {
      await server.close();
    }
  });

  it('with an idempotency id, a duplicate never reaches a device', async () => {
    const server = await serverOn(freshStore());
    try {
      const c = await device(server.wsUrl, 'bob');
      const first = await persist(server, { userId: 'bob', id: 'order-1' });
      const again = await persist(server, { userId: 'bob', id: 'order-1' });
      assert.equal(again.body.duplicate, true);
      assert.equal(again.body.alert, first.body.alert);
      // A marker after both: every push line before it is in.
      const marker = await persist(server, { userId: 'bob' });
      await c.next((m: Msg) => m.type === 'push' && m.alert === marker.body.alert);
      const alerts = c.all('push').map((m) => m.alert);
      assert.deepEqual(alerts, [first.body.alert, marker.body.alert]);
    } finally {
      await server.close();
    }
  });
});
