/**
 * Three Barrage servers in this process, one Redis between them (a real redis-server), real
 * WebSocket clients: cross-node delivery and order, recovery on another node, online counts and
 * pushes summed across nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { type Msg, TestClient } from '../support/client.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const KEY = 'cluster-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const PRESENCE_MS = 100;

type Server = Awaited<ReturnType<typeof startServer>>;

let redis: RedisProcess;
const servers: Server[] = [];
const clients: TestClient[] = [];

before(async () => {
  redis = await startRedis();
  for (const nodeId of ['n1', 'n2', 'n3']) {
    const broker = createRedisBroker({
      url: redis.url,
      prefix: 'nodes',
      nodeId,
      historySize: 200,
      historyTtlMs: 60_000,
      presenceTtlMs: PRESENCE_MS * 5,
    });
    servers.push(
      await startServer({
        nodeId,
        broker,
        jwtSecret: TEST_SECRET,
        apiKey: KEY,
        presenceIntervalMs: PRESENCE_MS,
        publishRate: 1000,
        publishBurst: 1000,
        roomPolicies: [],
      }),
    );
  }
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  await redis.stop();
});

async function connect(server: Server, user: string | null = null): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  clients.push(client);
  if (user) {
    const reply = await client.request({ type: 'auth', token: await signToken(user) });
    assert.equal(reply.type, 'ok');
  }
  return client;
}

async function join(client: TestClient, room: string, extra: Record<string, unknown> = {}) {
  const reply = await client.request({ type: 'join', room, ...extra });
  assert.equal(reply.type, 'joined', JSON.stringify(reply));
  return reply;
}

const messagesOf = (client: TestClient, room: string) =>
  client.all('message').filter((m) => m.room === room);

describe('Barrage nodes on one Redis', () => {
  it('delivers a room across nodes to every member in the same order', async () => {
    const [s1, s2, s3] = servers;
    const room = 'chat:cross';
    const x = await connect(s1!, 'x');
    const y = await connect(s2!, 'y');
    const z = await connect(s3!, 'z');
    await join(x, room);
    await join(y, room);
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => z.request({ type: 'publish', room, data: { i } })),
    );
    assert.deepEqual(
      acks.map((a) => a.offset).sort((p, q) => Number(p) - Number(q)),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    await waitFor(
      () => messagesOf(x, room).length === 50 && messagesOf(y, room).length === 50,
      '50 on x and y',
    );
    const order = (c: TestClient) =>
      messagesOf(c, room).map((m) => [m.offset, (m.data as { i: number }).i]);
    assert.deepEqual(
      order(x).map(([o]) => o),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(order(x), order(y));
    assert.equal(messagesOf(z, room).length, 0);
  });

  it('recovers missed messages when rejoining on another node', async () => {
    const [s1, s2, s3] = servers;
    const room = 'chat:recover';
    const first = await connect(s1!, 'r');
    const joined = await join(first, room);
    for (let i = 0; i < 3; i++) {
      const res = await api(s3!, 'POST', '/api/publish', { room, data: { i } }, auth);
      assert.equal(res.status, 200);
    }
    await waitFor(() => messagesOf(first, room).length === 3, 'first 3');
    const last = messagesOf(first, room).at(-1)!;
    first.close();
    for (let i = 3; i < 8; i++) await api(s3!, 'POST', '/api/publish', { room, data: { i } }, auth);
    const again = await connect(s2!, 'r');
    const rejoined = await join(again, room, {
      since: { offset: last.offset, epoch: joined.epoch },
    });
    assert.equal(rejoined.recovered, true);
    assert.equal(rejoined.epoch, joined.epoch);
    assert.deepEqual(
      (rejoined.messages as Msg[]).map((m) => (m.data as { i: number }).i),
      [3, 4, 5, 6, 7],
    );
    const wrong = await join(await connect(s3!, 'r2'), room, {
      since: { offset: 1, epoch: 'gone' },
      history: 2,
    });
    assert.equal(wrong.recovered, false);
    assert.equal((wrong.messages as Msg[]).length, 2);
  });

  it('sums online counts across nodes', async () => {
    const [s1, s2, s3] = servers;
    const room = 'live:online';
    const members = [await connect(s1!), await connect(s1!), await connect(s2!)];
    for (const m of members) await join(m, room);
    await waitFor(
      async () => (await api(s3!, 'GET', `/api/rooms/${room}`, undefined, auth)).body.online === 3,
      'online 3 seen from n3',
    );
    // A member on n2 hears the cluster-wide count.
    await members[2]!.next((m) => m.type === 'presence' && m.room === room && m.online === 3);
    members[0]!.close();
    await waitFor(
      async () => (await api(s3!, 'GET', `/api/rooms/${room}`, undefined, auth)).body.online === 2,
      'online 2 after one left',
    );
  });

  it('sums push deliveries across nodes', async () => {
    const [s1, s2, s3] = servers;
    const tabs = [
      await connect(s1!, 'alice'),
      await connect(s1!, 'alice'),
      await connect(s2!, 'alice'),
    ];
    const res = await api(
      s3!,
      'POST',
      '/api/push',
      { userId: 'alice', event: 'alert', data: 1 },
      auth,
    );
    assert.deepEqual(res.body, { delivered: 3 });
    for (const tab of tabs) await tab.next((m) => m.type === 'push' && m.event === 'alert');
    const none = await api(
      s3!,
      'POST',
      '/api/push',
      { userId: 'nobody', event: 'alert', data: 1 },
      auth,
    );
    assert.deepEqual(none.body, { delivered: 0 });
    const everyone = servers.reduce((sum, s) => sum + s.node.stats().connections, 0);
    const all = await api(s2!, 'POST', '/api/broadcast', { event: 'news', data: 2 }, auth);
    assert.deepEqual(all.body, { delivered: everyone });
  });

  // Last: it restarts Redis under the servers.
  it('answers unavailable while Redis is down, then members re-sync to the new epoch', async () => {
    const [s1, s2] = servers;
    const room = 'chat:restart';
    const member = await connect(s1!, 'm');
    const joined = await join(member, room);
    const publisher = await connect(s2!, 'p');
    const ack = await publisher.request({ type: 'publish', room, data: 'before' });
    assert.equal(ack.offset, 1);
    await member.next((m) => m.type === 'message' && m.room === room);

    await redis.kill();
    const refused = await publisher.request({ type: 'publish', room, data: 'during' });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'unavailable');
    const health = await fetch(`${s1!.url}/healthz`);
    assert.notEqual(health.status, 200);

    await redis.restart(); // empty: the room's history and epoch are gone
    assert.equal(await member.closed(8000), 4009); // told to re-sync
    const back = await connect(s1!, 'm');
    const rejoined = await join(back, room, { since: { offset: 1, epoch: joined.epoch } });
    assert.equal(rejoined.recovered, false);
    assert.notEqual(rejoined.epoch, joined.epoch);
    await waitFor(async () => (await fetch(`${s1!.url}/healthz`)).status === 200, 'healthz 200');
    const after = await publisher.request({ type: 'publish', room, data: 'after' });
    assert.equal(after.offset, 1);
    const msg = await back.next((m) => m.type === 'message' && m.room === room);
    assert.equal(msg.data, 'after');
  });
});
