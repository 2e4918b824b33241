/**
 * The PostgreSQL store under faults and across nodes (issue 12), with a PostgreSQL and a Redis
 * this test starts and kills: live delivery in other rooms goes on while the database is down,
 * timeline publishes wait (never acknowledged and dropped) and are refused `unavailable` once the
 * write queue is full, writing resumes by itself, and nothing acknowledged is lost. Two nodes on
 * one Redis and one database write each comment exactly once and both answer reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';

let pg: PostgresProcess;
let redis: RedisProcess;
before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});
after(async () => {
  await pg?.stop();
  await redis?.stop();
});

const limits = {
  publishRate: 10_000,
  publishBurst: 10_000,
  commandRate: 10_000,
  commandBurst: 10_000,
};

type Comment = { id: string; t: number; data: { n: number } };

async function readAll(server: { url: string }, room: string): Promise<Comment[]> {
  const r = await api(server, 'GET', `/api/rooms/${room}/timeline?limit=1000`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.comments as Comment[];
}

describe('postgres store faults', () => {
  it('keeps live rooms going, refuses past the queue, resumes, and loses nothing acknowledged', async () => {
    const server = await startServer({
      store: 'postgres',
      databaseUrl: pg.url,
      storeQueueSize: 20,
      ...limits,
    });
    const publisher = await TestClient.connect(server.wsUrl);
    const member = await TestClient.connect(server.wsUrl);
    try {
      await member.request({ type: 'join', room: 'live:up' });
      const acked = new Set<number>();
      for (let n = 0; n < 30; n++) {
        const r = await publisher.request({ type: 'publish', room: 'vod:f', data: { n }, t: n });
        assert.equal(r.type, 'ok');
        acked.add(n);
      }
      await pg.kill();

      // Live delivery in a room without the store is untouched.
      const live = await publisher.request({ type: 'publish', room: 'live:up', data: 'still' });
      assert.equal(live.type, 'ok');
      await member.next((m) => m.type === 'message' && m.data === 'still');

      // 30 timeline publishes at once over HTTP (a connection's commands run in order, so one
      // socket would wait behind its first): 20 wait in the queue, 10 are refused at once.
      const ids = Array.from({ length: 30 }, (_, i) => 1000 + i);
      const replies = new Map<number, Promise<{ status: number; body: Record<string, unknown> }>>();
      for (const n of ids) {
        replies.set(n, api(server, 'POST', '/api/publish', { room: 'vod:f', data: { n }, t: n }));
      }
      const refused: number[] = [];
      const waiting: number[] = [];
      await waitFor(
        async () => {
          const settled = await Promise.all(
            ids.map((n) =>
              Promise.race([
                replies.get(n)!,
                new Promise<null>((r) => setImmediate(() => r(null))),
              ]),
            ),
          );
          return settled.filter((r) => r !== null).length === 10;
        },
        '10 refusals',
        10_000,
      );
      for (const n of ids) {
        const r = await Promise.race([
          replies.get(n)!,
          new Promise<null>((resolve) => setImmediate(() => resolve(null))),
        ]);
        if (r === null) waiting.push(n);
        else {
          assert.equal(r.status, 503, JSON.stringify(r.body));
          assert.equal((r.body.error as { code: string }).code, 'unavailable');
          refused.push(n);
        }
      }
      assert.equal(refused.length, 10);
      assert.equal(waiting.length, 20);
      const health = await api(server, 'GET', '/healthz');
      assert.equal(health.status, 200, 'a store that is down does not make the node unready');
      assert.equal((health.body.store as { queueDepth: number }).queueDepth, 20);

      await pg.restart();
      for (const n of waiting) {
        const r = await replies.get(n)!;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        acked.add(n);
      }
      const stored = new Set((await readAll(server, 'vod:f')).map((c) => c.data.n));
      for (const n of acked) assert.ok(stored.has(n), `acknowledged comment ${n} is stored`);
      for (const n of refused) assert.ok(!stored.has(n), `refused comment ${n} is not stored`);
      const stats = await api(server, 'GET', '/api/stats');
      const store = (stats.body.nodes as { store: Record<string, number> }[])[0]!.store;
      assert.equal(store.refused, 10);
      assert.ok(store.errors! >= 1, 'the failed commits are counted');
    } finally {
      publisher.close();
      member.close();
      await server.close();
    }
  });

  it('two nodes on Redis and PostgreSQL: each comment is stored once and either node reads it', async () => {
    const common = {
      store: 'postgres',
      databaseUrl: pg.url,
      redisUrl: redis.url,
      ...limits,
    } as const;
    const a = await startServer({ ...common, nodeId: 'a' });
    const b = await startServer({ ...common, nodeId: 'b' });
    const onA = await TestClient.connect(a.wsUrl);
    const onB = await TestClient.connect(b.wsUrl);
    try {
      await onB.request({ type: 'join', room: 'vod:two' });
      for (let n = 0; n < 20; n++) {
        const via = n % 2 === 0 ? onA : onB;
        const r = await via.request({ type: 'publish', room: 'vod:two', data: { n }, t: n * 10 });
        assert.equal(r.type, 'ok');
        const http = await api(n % 2 === 0 ? b : a, 'POST', '/api/publish', {
          room: 'vod:two',
          data: { n: 100 + n },
          t: n * 10 + 1,
        });
        assert.equal(http.status, 200);
      }
      await waitFor(() => onB.all('message').length === 40, 'node b member got all 40 live');
      assert.ok(onB.all('message').every((m) => typeof m.t === 'number'));
      const fromA = await readAll(a, 'vod:two');
      const fromB = await readAll(b, 'vod:two');
      assert.equal(fromA.length, 40);
      assert.deepEqual(fromA, fromB);
      assert.equal(new Set(fromA.map((c) => c.id)).size, 40, 'one row per comment');
    } finally {
      onA.close();
      onB.close();
      await a.close();
      await b.close();
    }
  });
});
