/**
 * The PostgreSQL batch writer (src/store/postgres/writer.ts) with batches large enough to be split
 * into parts written side by side, on a PostgreSQL this test starts: "load earlier" (seq) order is
 * publish order across parts and across batches in flight together, and a retried or raced batch
 * is stored exactly once (the unique violation falls back to the idempotent insert).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/store.js';
import type { StoredMessage } from '../../src/store/types.js';
import { message } from '../contract/store-contract.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';

let pg: PostgresProcess;
let stores: PostgresStore[];
before(async () => {
  pg = await startPostgres();
  stores = [new PostgresStore({ url: pg.url }), new PostgresStore({ url: pg.url })];
  for (const s of stores) await s.start();
});
after(async () => {
  for (const s of stores ?? []) await s.close();
  await pg?.stop();
});

const offsets = (list: StoredMessage[]) => list.map((m) => m.offset);
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** Every message of the room in "load earlier" order (oldest first), paging back from the end. */
async function history(store: PostgresStore, room: string): Promise<StoredMessage[]> {
  const pages: StoredMessage[][] = [];
  let page = await store.before({ room, before: null, limit: 1000 });
  while (page.length > 0) {
    pages.unshift(page);
    const first = page[0]!;
    page = await store.before({
      room,
      before: { epoch: first.epoch, offset: first.offset },
      limit: 1000,
    });
  }
  return pages.flat();
}

describe('postgres batch writer', () => {
  it('keeps publish order across the parts of a batch and batches written at once', async () => {
    const room = 'vod:order';
    const batches = range(0, 6).map((b) => range(b * 1500 + 1, 1500).map((o) => message(room, o)));
    // Issued together, as the archive does with batches in flight: parts of all of them commit
    // side by side on the writer's connections.
    await Promise.all(batches.map((batch) => stores[0]!.append(batch)));
    assert.deepEqual(offsets(await history(stores[0]!, room)), range(1, 9000));
  });

  it('stores a retried batch once, and a part of it already stored once', async () => {
    const room = 'vod:retry';
    const batch = range(1, 1200).map((o) => message(room, o));
    await stores[0]!.append(batch.slice(300, 700));
    await stores[0]!.append(batch);
    await stores[0]!.append(batch);
    const got = await stores[0]!.timeline({ room, from: 0, to: 1e9, limit: 5000 });
    assert.deepEqual(offsets(got), range(1, 1200));
  });

  it('two nodes writing the same large batch at once store each comment once', async () => {
    const room = 'vod:race';
    const batch = range(1, 2000).map((o) => message(room, o, { t: o % 997 }));
    await Promise.all([stores[0]!.append(batch), stores[1]!.append(batch.slice(500))]);
    const got = await stores[1]!.timeline({ room, from: 0, to: 1e9, limit: 5000 });
    assert.equal(got.length, 2000);
    assert.equal(new Set(got.map((m) => m.id)).size, 2000);
  });
});
