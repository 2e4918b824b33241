import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { inboxContract } from './inbox-contract.js';
import { storeContract } from './store-contract.js';

storeContract('sqlite (embedded, worker thread)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-store-'));
  return {
    stores: [new SqliteStore(dir)],
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

inboxContract('sqlite (embedded, worker thread)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-inbox-'));
  return {
    stores: [new SqliteStore(dir)],
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
