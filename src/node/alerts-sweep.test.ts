/**
 * The alert sweep on a real embedded store: a backlog larger than one round (SWEEP_BATCH) of
 * expired alerts and of idempotency keys past 24 h is cleared by one sweep, not one round a
 * second, and the devices of the users get `withdrawn` for the unread ones (through the broker).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { newAlert } from '../../test/support/new-alert.js';
import { MemoryBroker } from '../broker/memory/broker.js';
import { silentLogger } from '../log.js';
import { ALERT_KEY_TTL_MS } from '../store/inbox.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { Alerts } from './alerts.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-sweep-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('alert sweep', () => {
  it('clears a backlog of several rounds in one sweep, alerts and keys', async () => {
    const store = new SqliteStore(dir);
    await store.start();
    const broker = new MemoryBroker();
    try {
      const now = Date.now();
      const long = now - ALERT_KEY_TTL_MS - 60_000;
      const puts: Promise<unknown>[] = [];
      for (let i = 0; i < 1500; i++) {
        // 1500 expired alerts, 1200 of them with a key taken more than 24 h ago.
        const key = i < 1200 ? `key-${i}` : null;
        const alert = newAlert(`user-${i % 50}`, `A-${i}`, long, { expiresAt: now - 1000, key });
        puts.push(store.putAlert(alert, 10_000));
      }
      await Promise.all(puts);
      const withdrawn = new Set<string>();
      await broker.start({
        onPublication: () => {},
        onPush: (_target, _event, line) => {
          const notice = JSON.parse(line.toString()) as { type: string; alerts: string[] };
          assert.equal(notice.type, 'withdrawn');
          for (const id of notice.alerts) withdrawn.add(id);
          return 1;
        },
      });
      const alerts = new Alerts({ broker, log: silentLogger }, { inbox: store, perUser: 10_000 });
      await alerts.sweep();
      assert.equal(alerts.counts.expired, 1500);
      assert.deepEqual(await store.expireAlerts(Date.now(), 10), []);
      assert.equal(await store.forgetKeys(Date.now() - ALERT_KEY_TTL_MS, 10), 0);
      // Every one was unread: each was withdrawn from its user's devices.
      assert.equal(withdrawn.size, 1500);
    } finally {
      await broker.close();
      await store.close();
    }
  });
});
