/**
 * Alerts under the faults of issue 13: a Barrage process SIGKILLed while stored pushes are in
 * flight (between store and delivery), two nodes on Redis and PostgreSQL with two devices acking
 * the same alerts at once, and Redis restarted empty and PostgreSQL restarted: nothing answered
 * `stored` is lost, nothing acknowledged comes back. Real processes, sockets and databases.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import { killAll, startNode } from './processes.js';

const KEY = 'alerts-fault-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const clients: TestClient[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of clients) c.close();
  await killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function device(wsUrl: string, user: string): Promise<TestClient> {
  const c = await TestClient.connect(`${wsUrl}?token=${await signToken(user)}`);
  clients.push(c);
  return c;
}

const alertsOf = (c: TestClient) => c.all('push').map((m) => m.alert as string);
const readsOf = (c: TestClient, id: string) =>
  c.all('read').filter((m) => (m.alerts as string[]).includes(id)).length;

/** A stored push, retried with the same idempotency key while the store or broker is away. */
async function persistRetrying(server: { url: string }, userId: string, key: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const r = await api(
      server,
      'POST',
      '/api/push',
      { userId, event: 'order', data: key, persist: true, id: key },
      AUTH,
    ).catch(() => null);
    if (r?.status === 200) return r.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`push ${key} never stored`);
}

describe('alerts when Barrage is killed mid-delivery (embedded store)', () => {
  it('delivers after the restart every alert it answered as stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-kill-'));
    dirs.push(dir);
    const args = [
      '--store',
      'embedded',
      '--data-dir',
      dir,
      '--api-key',
      KEY,
      '--jwt-secret',
      TEST_SECRET,
    ];
    const node = await startNode(args);
    const user = 'killed-mid-flight';
    const live = await device(node.wsUrl, user);
    const answered: string[] = [];
    let failed = 0;
    let sent = 0;
    // Eight pushers in a loop (bounded), so that pushes are in flight whenever the kill comes.
    const pusher = async () => {
      while (failed === 0 && sent < 5000) {
        const data = sent++;
        const r = await api(
          node,
          'POST',
          '/api/push',
          { userId: user, event: 'e', data, persist: true },
          AUTH,
        ).catch(() => null);
        if (r?.status === 200) answered.push(r.body.alert as string);
        else failed++;
      }
    };
    const pushers = Array.from({ length: 8 }, pusher);
    await waitFor(() => answered.length >= 50, 'the first stored answers', 15_000);
    node.child.kill('SIGKILL');
    await node.exited;
    await Promise.all(pushers);
    assert.ok(failed > 0, 'the kill came while pushes were in flight');
    const server = await startServer({
      jwtSecret: TEST_SECRET,
      apiKey: KEY,
      store: 'embedded',
      dataDir: dir,
    });
    try {
      const inbox = await api(
        server,
        'GET',
        `/api/users/${user}/alerts?limit=1000`,
        undefined,
        AUTH,
      );
      const stored = inbox.body.unread as number;
      assert.ok(stored >= answered.length, `${stored} stored, ${answered.length} answered`);
      const after = await device(server.wsUrl, user);
      await waitFor(() => after.all('push').length === stored, `${stored} redelivered`, 10_000);
      const got = new Set(alertsOf(after));
      for (const id of answered) assert.ok(got.has(id), `answered ${id} arrived after the restart`);
      // A push without an idempotency id is delivered while it commits (docs/alerts.md), so the
      // live device may hold alerts of the pushes in flight at the kill that were never stored:
      // one per pusher at most, and none of them answered. Every other one comes again.
      const unstored = alertsOf(live).filter((id) => !got.has(id));
      assert.ok(unstored.length <= 8, `${unstored.length} live alerts were not stored`);
      for (const id of unstored)
        assert.ok(!answered.includes(id), `answered ${id} did not come again`);
    } finally {
      await server.close();
    }
  });
});

describe('alerts on two nodes with Redis and PostgreSQL', () => {
  let pg: PostgresProcess;
  let redis: RedisProcess;
  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  after(async () => {
    await pg?.stop();
    await redis?.stop();
  });

  const common = () =>
    ({
      store: 'postgres',
      databaseUrl: pg.url,
      redisUrl: redis.url,
      jwtSecret: TEST_SECRET,
      apiKey: KEY,
      commandRate: 10_000,
      commandBurst: 10_000,
    }) as const;

  it('two devices acking the same alerts at once on two nodes: one read each, no error', async () => {
    const a = await startServer({ ...common(), nodeId: 'a' });
    const b = await startServer({ ...common(), nodeId: 'b' });
    try {
      const user = 'two-devices';
      const [onA, onB] = [await device(a.wsUrl, user), await device(b.wsUrl, user)];
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await api(
          a,
          'POST',
          '/api/push',
          { userId: user, event: 'e', data: i, persist: true },
          AUTH,
        );
        assert.equal(r.body.delivered, 2, 'both devices, on both nodes');
        ids.push(r.body.alert as string);
      }
      await waitFor(
        () => onA.all('push').length === 10 && onB.all('push').length === 10,
        'all alerts on both',
      );
      const replies = await Promise.all(
        ids.flatMap((id) => [
          onA.request({ type: 'ack', alerts: [id] }),
          onB.request({ type: 'ack', alerts: [id] }),
        ]),
      );
      assert.ok(
        replies.every((r) => r.type === 'ok'),
        JSON.stringify(replies.filter((r) => r.type !== 'ok')),
      );
      const acked = replies.flatMap((r) => r.acked as string[]).sort();
      assert.deepEqual(acked, [...ids].sort(), 'each alert acknowledged by exactly one of the two');
      await waitFor(
        () => ids.every((id) => readsOf(onA, id) >= 1 && readsOf(onB, id) >= 1),
        'a read of every alert on both devices',
      );
      // A last acknowledged alert: once its read arrived, any second read of the others would have too.
      const last = (
        await api(
          b,
          'POST',
          '/api/push',
          { userId: user, event: 'e', data: 'last', persist: true },
          AUTH,
        )
      ).body.alert as string;
      await onB.next((m) => m.type === 'push' && m.alert === last);
      await onB.request({ type: 'ack', alerts: [last] });
      await waitFor(
        () => readsOf(onA, last) === 1 && readsOf(onB, last) === 1,
        'the last read on both',
      );
      for (const id of ids) assert.deepEqual([readsOf(onA, id), readsOf(onB, id)], [1, 1], id);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a node killed mid-delivery: every alert it answered stored reaches the devices on the other', async () => {
    const args = ['--store', 'postgres', '--database-url', pg.url, '--redis-url', redis.url];
    const killed = await startNode([
      ...args,
      '--api-key',
      KEY,
      '--jwt-secret',
      TEST_SECRET,
      '--node-id',
      'k',
    ]);
    const b = await startServer({ ...common(), nodeId: 'survivor' });
    try {
      const user = 'node-killed';
      const onB = await device(b.wsUrl, user);
      const answered: string[] = [];
      let failed = 0;
      let sent = 0;
      const pusher = async () => {
        while (failed === 0 && sent < 3000) {
          const data = sent++;
          const body = { userId: user, event: 'e', data, persist: true };
          const r = await api(killed, 'POST', '/api/push', body, AUTH).catch(() => null);
          if (r?.status === 200) answered.push(r.body.alert as string);
          else failed++;
        }
      };
      const pushers = Array.from({ length: 8 }, pusher);
      await waitFor(() => answered.length >= 50, 'the first stored answers', 15_000);
      killed.child.kill('SIGKILL');
      await killed.exited;
      await Promise.all(pushers);
      assert.ok(failed > 0, 'the kill came while pushes were in flight');
      const fresh = await device(b.wsUrl, user);
      await waitFor(
        () => answered.every((id) => alertsOf(fresh).includes(id)),
        'every answered alert redelivered on the surviving node',
        10_000,
      );
      // Without an idempotency id an alert is delivered while it is stored (docs/alerts.md): one
      // the killed node delivered but never committed is gone, and its call was never answered.
      for (const id of alertsOf(onB)) {
        if (!alertsOf(fresh).includes(id)) assert.ok(!answered.includes(id), `answered ${id} lost`);
      }
    } finally {
      await b.close();
    }
  });

  it('Redis restarted empty and PostgreSQL restarted: nothing stored is lost, nothing acked comes back', async () => {
    const a = await startServer({ ...common(), nodeId: 'a2' });
    const b = await startServer({ ...common(), nodeId: 'b2' });
    try {
      const user = 'through-restarts';
      const first = await device(a.wsUrl, user);
      const before: string[] = [];
      for (let i = 0; i < 6; i++)
        before.push((await persistRetrying(a, user, `before-${i}`)).alert as string);
      await waitFor(() => first.all('push').length === 6, 'six alerts live');
      const acked = before.slice(0, 3);
      const ok = await first.request({ type: 'ack', alerts: acked });
      assert.deepEqual(ok.acked, acked);

      await redis.restart();
      const duringRedis: string[] = [];
      for (let i = 0; i < 3; i++)
        duringRedis.push((await persistRetrying(b, user, `redis-${i}`)).alert as string);
      await pg.restart();
      const duringPg: string[] = [];
      for (let i = 0; i < 3; i++)
        duringPg.push((await persistRetrying(a, user, `pg-${i}`)).alert as string);

      const again = await device(b.wsUrl, user);
      const expected = [...before.slice(3), ...duringRedis, ...duringPg];
      await waitFor(
        () => expected.every((id) => alertsOf(again).includes(id)),
        'every unacked alert',
        10_000,
      );
      for (const id of acked)
        assert.ok(!alertsOf(again).includes(id), `acked ${id} did not come back`);
      const inbox = await api(a, 'GET', `/api/users/${user}/alerts`, undefined, AUTH);
      const listed = inbox.body.alerts as { alert: string; read: boolean }[];
      assert.deepEqual(
        listed.map((x) => [x.alert, x.read]),
        [...before, ...duringRedis, ...duringPg].map((id) => [id, acked.includes(id)]),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});
