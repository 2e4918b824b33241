/**
 * Moderation across two in-process nodes on one real redis-server (the test starts it): slow mode
 * refuses a second comment on the other node, a mute set through node A's API applies on node B
 * within 1 s (even with B's cache warm), a ban on A removes the user from the room on B, a shadow
 * ban holds across nodes, and a kick closes the user's connections on both nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { type RedisProcess, rawCommand, startRedis } from '../support/redis-server.js';
import { api, sleep, startServer } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

const KEY = 'moderation-cluster-key';
const auth = { authorization: `Bearer ${KEY}` };

let redis: RedisProcess;
let a: Server;
let b: Server;
const clients: TestClient[] = [];

before(async () => {
  redis = await startRedis();
  const common = {
    redisUrl: redis.url,
    redisPrefix: 'modtest',
    apiKey: KEY,
    publishRate: 1000,
    publishBurst: 1000,
    roomPolicies: [],
    hooks: {
      authenticate: (token: string) =>
        token.startsWith('user:') ? { userId: token.slice(5) } : null,
    },
  };
  a = await startServer({ ...common, nodeId: 'mod-a' });
  b = await startServer({ ...common, nodeId: 'mod-b' });
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([a.close(), b.close()]);
  await redis.stop();
});

async function joined(server: Server, user: string, room: string): Promise<TestClient> {
  const client = await TestClient.connect(`${server.wsUrl}?token=user:${user}`);
  clients.push(client);
  assert.equal((await client.request({ type: 'join', room })).type, 'joined');
  return client;
}

const publish = (c: TestClient, room: string, data: unknown) =>
  c.request({ type: 'publish', room, data });

describe('Moderation across nodes (Redis)', () => {
  it('slow mode refuses a second comment inside the interval on another node', async () => {
    const set = await api(a, 'POST', '/api/rooms/live:slow/slowmode', { intervalMs: 1500 }, auth);
    assert.equal(set.status, 200);
    const onA = await joined(a, 'sam', 'live:slow');
    const onB = await joined(b, 'sam', 'live:slow');
    const t0 = Date.now();
    assert.equal((await publish(onA, 'live:slow', 'first, on A')).type, 'ok');
    const second = await publish(onB, 'live:slow', 'second, on B');
    assert.equal(second.code, 'rate_limited');
    const wait = Number(second.retryAfterMs);
    assert.ok(wait > 0 && wait <= 1500, `retryAfterMs ${wait}`);
    await sleep(wait + 50);
    assert.equal((await publish(onB, 'live:slow', 'third, on B')).type, 'ok');
    assert.ok(Date.now() - t0 >= 1400, 'the turn lasted the interval');
    await api(b, 'POST', '/api/rooms/live:slow/slowmode', { intervalMs: 0 }, auth);
  });

  it("a mute set through node A's API applies on node B within 1 s", async () => {
    const mia = await joined(b, 'mia', 'live:mute');
    // B's cache now holds "no rules" for mia in this room: the change must replace it.
    assert.equal((await publish(mia, 'live:mute', 'before')).type, 'ok');
    const res = await api(
      a,
      'POST',
      '/api/moderation/mute',
      { userId: 'mia', durationMs: 30_000 },
      auth,
    );
    assert.equal(res.status, 200);
    const t0 = Date.now();
    let refusedAfter = -1;
    for (let i = 0; i < 100 && Date.now() - t0 < 1000; i++) {
      const reply = await publish(mia, 'live:mute', `try ${i}`);
      if (reply.type === 'error') {
        assert.equal(reply.code, 'forbidden');
        assert.ok(Number(reply.retryAfterMs) > 25_000);
        refusedAfter = Date.now() - t0;
        break;
      }
      await sleep(20);
    }
    assert.ok(
      refusedAfter >= 0 && refusedAfter < 1000,
      `mute applied on B after ${refusedAfter} ms`,
    );
    console.log(`# mute set on A refused on B after ${refusedAfter} ms`);
    const rules = await api(b, 'GET', '/api/moderation?userId=mia', undefined, auth);
    assert.deepEqual(
      (rules.body.rules as { kind: string; room: string | null }[]).map((r) => [r.kind, r.room]),
      [['mute', null]],
    );
    assert.equal(
      (await api(b, 'POST', '/api/moderation/unmute', { userId: 'mia' }, auth)).body.lifted,
      true,
    );
    assert.equal((await publish(mia, 'live:mute', 'after')).type, 'ok');
  });

  it('without a notification (written behind its back), a node sees a rule within its 1 s cache', async () => {
    const zed = await joined(b, 'zed', 'live:stale');
    assert.equal((await publish(zed, 'live:stale', 'cached')).type, 'ok');
    // A rule written straight into Redis: no node hears about it, only the cache TTL bounds it.
    assert.match(await rawCommand(redis.port, 'SET modtest:m:{zed}:mute 0'), /^\+OK/);
    const t0 = Date.now();
    let refusedAfter = -1;
    for (let i = 0; i < 200 && Date.now() - t0 < 2500; i++) {
      if ((await publish(zed, 'live:stale', `try ${i}`)).type === 'error') {
        refusedAfter = Date.now() - t0;
        break;
      }
      await sleep(25);
    }
    assert.ok(refusedAfter >= 0 && refusedAfter <= 1500, `refused after ${refusedAfter} ms`);
    console.log(`# rule written behind the nodes' back refused after ${refusedAfter} ms`);
  });

  it('rules expire in Redis by themselves (PX), and listing and lifting see that', async () => {
    const set = await api(
      a,
      'POST',
      '/api/moderation/ban',
      { userId: 'tim', room: 'live:x', durationMs: 400 },
      auth,
    );
    assert.equal(set.status, 200);
    await api(a, 'POST', '/api/moderation/shadowban', { userId: 'tim' }, auth);
    const listed = await api(b, 'GET', '/api/moderation?userId=tim', undefined, auth);
    assert.deepEqual(
      (listed.body.rules as { kind: string; room: string | null }[])
        .map((r) => [r.kind, r.room])
        .sort(),
      [
        ['ban', 'live:x'],
        ['shadow', null],
      ],
    );
    const pttl = await rawCommand(redis.port, 'PTTL modtest:m:{tim}:ban:live:x');
    const ms = Number(pttl.slice(1));
    assert.ok(ms > 0 && ms <= 400, `PTTL ${pttl.trim()}`);
    await sleep(500);
    const later = await api(b, 'GET', '/api/moderation?userId=tim', undefined, auth);
    assert.deepEqual(
      (later.body.rules as { kind: string }[]).map((r) => r.kind),
      ['shadow'],
    );
    const lift = await api(
      b,
      'POST',
      '/api/moderation/unban',
      { userId: 'tim', room: 'live:x' },
      auth,
    );
    assert.equal(lift.body.lifted, false, 'an expired ban is not there to lift');
    assert.equal(
      (await api(b, 'POST', '/api/moderation/unshadowban', { userId: 'tim' }, auth)).body.lifted,
      true,
    );
    const none = await api(a, 'GET', '/api/moderation?userId=tim', undefined, auth);
    assert.deepEqual(none.body.rules, []);
  });

  it('a ban on A removes the user from the room on B and refuses the join there', async () => {
    const ben = await joined(b, 'ben', 'live:ban');
    await api(
      a,
      'POST',
      '/api/moderation/ban',
      { userId: 'ben', room: 'live:ban', durationMs: 60_000 },
      auth,
    );
    const notice = await ben.next((m) => m.type === 'left', 3000);
    assert.deepEqual([notice.room, notice.reason], ['live:ban', 'banned']);
    const join = await ben.request({ type: 'join', room: 'live:ban' });
    assert.equal(join.code, 'forbidden');
  });

  it('a shadow ban set on B holds for a comment sent on A', async () => {
    await api(b, 'POST', '/api/moderation/shadowban', { userId: 'sly', room: 'live:shadow' }, auth);
    const sly = await joined(a, 'sly', 'live:shadow');
    const slyOnB = await joined(b, 'sly', 'live:shadow');
    const viewer = await joined(b, 'vic', 'live:shadow');
    const ok = await publish(sly, 'live:shadow', 'only I see this');
    assert.equal(ok.type, 'ok');
    // The author's connections on both nodes see it; the next real message follows it (no gap).
    for (const own of [sly, slyOnB]) {
      const m = await own.next((x) => x.type === 'message' && x.data === 'only I see this');
      assert.equal(m.offset, ok.offset);
    }
    await publish(viewer, 'live:shadow', 'marker');
    const marker = await viewer.next((m) => m.type === 'message' && m.data === 'marker');
    assert.equal(marker.offset, Number(ok.offset) + 1);
    await sly.next((m) => m.type === 'message' && m.data === 'marker');
    assert.equal(viewer.all('message').filter((m) => m.from === 'sly').length, 0);
  });

  it("kick closes the user's connections on both nodes with 4504", async () => {
    const onA = await joined(a, 'kay', 'live:kick');
    const onB = await joined(b, 'kay', 'live:kick');
    const other = await joined(b, 'lee', 'live:kick');
    const res = await api(
      a,
      'POST',
      '/api/moderation/kick',
      { userId: 'kay', durationMs: 5000 },
      auth,
    );
    assert.equal(res.status, 200);
    assert.equal(await onA.closed(3000), 4504);
    assert.equal(await onB.closed(3000), 4504);
    assert.equal(onB.closeReason, 'kicked; retryAfterMs=5000');
    assert.equal((await other.request({ type: 'ping' })).type, 'pong');
    const back = await TestClient.connect(`${b.wsUrl}?token=user:kay`);
    clients.push(back);
    assert.equal((await back.request({ type: 'join', room: 'live:kick' })).code, 'forbidden');
  });
});
