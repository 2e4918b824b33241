/**
 * The rendered-segment cache (docs/timeline.md "Segment cache") on a real server with the embedded
 * store. The store is the real SqliteStore; the subclass only counts segment reads and can hold
 * one read's answer back, to line up concurrent misses and a write racing a read.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import type { SegmentQuery, Store } from '../../src/store/types.js';
import { useServer } from '../support/fixture.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';
import { api, startServer, waitFor } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-segcache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any arguments.
type StoreClass = new (...args: any[]) => Store;

/** A real store class, counting segment reads; `hold()` keeps the next answer until released. */
function counting<B extends StoreClass>(Base: B) {
  return class Counting extends Base {
    reads = 0;
    gate: Promise<void> | null = null;
    waiting = false;
    hold(): () => void {
      let open!: () => void;
      this.gate = new Promise((resolve) => {
        open = resolve;
      });
      return open;
    }
    /** Whether a read holds its answer at the gate now. */
    gateTaken(): boolean {
      return this.waiting;
    }
    override async segmentComments(query: SegmentQuery): Promise<Uint8Array> {
      this.reads++;
      const rows = await super.segmentComments(query);
      const gate = this.gate;
      this.gate = null;
      if (gate) {
        this.waiting = true;
        await gate;
        this.waiting = false;
      }
      return rows;
    }
  };
}
const CountingSqlite = counting(SqliteStore);
const CountingPostgres = counting(PostgresStore);
/** What the cases use of a counting store. */
type CountingStore = Store & { reads: number; hold(): () => void; gateTaken(): boolean };

type Segment = { comments: { id: string; t: number }[] };
type CacheStats = { hits: number; misses: number; evictions: number; bytes: number };

function serverOptions(store: Store, cacheBytes?: number) {
  return {
    store: 'embedded' as const,
    storeBackend: store,
    allowAnonymousPublish: true,
    ...(cacheBytes === undefined ? {} : { timelineCacheBytes: cacheBytes }),
  };
}

/** The cache's cases against a started server and its counting store. */
function cacheCases(fx: { readonly server: { url: string } }, counted: () => CountingStore) {
  const read = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${fx.server.url}${path}`, { headers });
    return { status: r.status, etag: r.headers.get('etag'), text: await r.text() };
  };
  const cache = async () => {
    const r = await api(fx.server, 'GET', '/api/stats');
    return (r.body.nodes as { store: { segmentCache: CacheStats } }[])[0]!.store.segmentCache;
  };
  const publish = async (room: string, t: number, text: string) => {
    const r = await api(fx.server, 'POST', '/api/publish', { room, data: { text }, t });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  it('a second read is a hit with the same bytes, and If-None-Match is a 304 without a read', async () => {
    await publish('vod:hit', 1000, 'first');
    const before = await cache();
    const reads = counted().reads;
    const one = await read('/timeline/vod:hit/0');
    const two = await read('/timeline/vod:hit/0');
    assert.equal(one.status, 200);
    assert.equal(two.text, one.text);
    assert.equal(two.etag, one.etag);
    const not = await read('/timeline/vod:hit/0', { 'if-none-match': one.etag! });
    assert.equal(not.status, 304);
    assert.equal(counted().reads - reads, 1, 'one store read for three requests');
    const now = await cache();
    assert.equal(now.misses - before.misses, 1);
    assert.equal(now.hits - before.hits, 2);
    assert.ok(now.bytes > one.text.length);
    const metrics = await (await fetch(`${fx.server.url}/metrics`)).text();
    assert.match(metrics, /^barrage_segment_cache_hits_total\{[^}]*\} [1-9]/m);
  });

  it('a publish into the segment drops it: the new comment is in the next read', async () => {
    await read('/timeline/vod:pub/0');
    await read('/timeline/vod:pub/1');
    await publish('vod:pub', 2000, 'new one');
    const reads = counted().reads;
    const seg = JSON.parse((await read('/timeline/vod:pub/0')).text) as Segment;
    assert.equal(seg.comments.length, 1);
    assert.equal(counted().reads - reads, 1, 'segment 0 was read again');
    await read('/timeline/vod:pub/1');
    assert.equal(counted().reads - reads, 1, 'segment 1 (not written) stayed cached');
  });

  it('a DELETE drops the cached segment: the comment is gone from the next read', async () => {
    await publish('vod:del', 3000, 'to delete');
    const seg = JSON.parse((await read('/timeline/vod:del/0')).text) as Segment;
    const id = seg.comments[0]!.id;
    const del = await api(fx.server, 'DELETE', `/api/rooms/vod:del/timeline/${id}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const again = JSON.parse((await read('/timeline/vod:del/0')).text) as Segment;
    assert.deepEqual(again.comments, []);
  });

  it('concurrent misses of one segment run one store read', async () => {
    const before = await cache();
    const reads = counted().reads;
    const release = counted().hold();
    const all = Promise.all([1, 2, 3, 4, 5].map(() => read('/timeline/vod:flight/0')));
    await waitFor(async () => (await cache()).misses - before.misses === 5, 'five misses');
    release();
    const answers = await all;
    assert.equal(counted().reads - reads, 1);
    assert.ok(answers.every((a) => a.status === 200 && a.text === answers[0]!.text));
  });

  it('a read running across a write is not kept: the next read sees the write', async () => {
    await publish('vod:race', 1000, 'old');
    const release = counted().hold();
    const stale = read('/timeline/vod:race/0');
    await waitFor(() => counted().gateTaken(), 'the read at the gate');
    await publish('vod:race', 1500, 'new');
    release();
    assert.equal((JSON.parse((await stale).text) as Segment).comments.length, 1);
    const fresh = JSON.parse((await read('/timeline/vod:race/0')).text) as Segment;
    assert.equal(fresh.comments.length, 2);
  });
}

describe('segment cache (embedded store)', () => {
  const store = new CountingSqlite(join(dir, 'on'));
  const fx = useServer(serverOptions(store));
  cacheCases(fx, () => store);
});

describe('segment cache (PostgreSQL)', () => {
  let pg: PostgresProcess | undefined;
  let store: CountingStore | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  before(async () => {
    pg = await startPostgres();
    const counted = new CountingPostgres({ url: pg.url });
    store = counted;
    server = await startServer(serverOptions(counted));
  });
  after(async () => {
    await server?.close();
    await pg?.stop();
  });
  cacheCases(
    {
      get server() {
        if (!server) throw new Error('the server starts in before()');
        return server;
      },
    },
    () => store!,
  );
});

describe('segment cache: byte bound and off', () => {
  const small = useServer(serverOptions(new CountingSqlite(join(dir, 'small')), 1000));
  const offStore = new CountingSqlite(join(dir, 'off'));
  const off = useServer(serverOptions(offStore, 0));
  const cacheOf = async (fx: typeof small) => {
    const r = await api(fx.server, 'GET', '/api/stats');
    return (r.body.nodes as { store: { segmentCache: CacheStats } }[])[0]!.store.segmentCache;
  };

  it('evicts the least recently used segments to stay within the bound', async () => {
    for (let s = 0; s < 8; s++) {
      const r = await fetch(`${small.server.url}/timeline/vod:lru/${s}`);
      assert.equal(r.status, 200);
      await r.text();
    }
    const stats = await cacheOf(small);
    assert.ok(stats.evictions > 0, JSON.stringify(stats));
    assert.ok(stats.bytes > 0 && stats.bytes <= 1000, JSON.stringify(stats));
    // The newest is still there, the oldest is not.
    const hits = stats.hits;
    await (await fetch(`${small.server.url}/timeline/vod:lru/7`)).text();
    assert.equal((await cacheOf(small)).hits, hits + 1);
    await (await fetch(`${small.server.url}/timeline/vod:lru/0`)).text();
    assert.equal((await cacheOf(small)).hits, hits + 1);
  });

  it('with 0 bytes every read goes to the store and nothing is kept', async () => {
    const reads = offStore.reads;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${off.server.url}/timeline/vod:off/0`);
      assert.equal(r.status, 200);
      await r.text();
    }
    assert.equal(offStore.reads - reads, 3);
    const stats = await cacheOf(off);
    assert.deepEqual([stats.hits, stats.bytes, stats.evictions], [0, 0, 0]);
  });
});
