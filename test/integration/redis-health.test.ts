/**
 * `/healthz` tells the truth about the Redis broker, over real HTTP against a server started with
 * `redisUrl` (the path `barrage serve --redis-url` takes) and a real redis-server:
 * - Redis killed: 503 naming the broker and why; Redis back: 200 again without any help.
 * - The subscriber connection dead while commands work (Redis refuses its SUBSCRIBE after it was
 *   dropped, through an ACL): 503 naming the subscriber; allowed again: 200 by itself, and the
 *   message published meanwhile reaches the member, caught up from the room's stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TestClient } from '../support/client.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

interface Healthz {
  status: number;
  body: { status?: string; broker?: { kind: string; ok: boolean; detail?: string } };
}

let redis: RedisProcess;
let admin: Redis;
const servers: Server[] = [];
const clients: TestClient[] = [];

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.connect();
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  admin.disconnect();
  await redis.stop();
});

async function server(nodeId: string, redisUrl: string): Promise<Server> {
  const s = await startServer({ nodeId, redisUrl, redisPrefix: nodeId, presenceIntervalMs: 200 });
  servers.push(s);
  return s;
}

async function healthz(s: Server): Promise<Healthz> {
  return (await api(s, 'GET', '/healthz')) as Healthz;
}

describe('/healthz with the Redis broker', () => {
  it('is 503 with the broker detail while Redis is down, and 200 again once it is back', async () => {
    const s = await server('health-a', redis.url);
    const up = await healthz(s);
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.broker, { kind: 'redis', ok: true });

    await redis.kill();
    await waitFor(async () => (await healthz(s)).status === 503, 'healthz 503', 5000);
    const down = await healthz(s);
    assert.equal(down.body.status, 'unavailable');
    assert.equal(down.body.broker?.kind, 'redis');
    assert.equal(down.body.broker?.ok, false);
    assert.match(down.body.broker?.detail ?? '', /redis/);

    await redis.restart();
    await admin.connect().catch(() => {}); // the admin connection reconnects by itself too
    await waitFor(async () => (await healthz(s)).status === 200, 'healthz 200 again', 10_000);
    assert.deepEqual((await healthz(s)).body.broker, { kind: 'redis', ok: true });
  });

  it('is 503 naming the subscriber while its subscriptions are refused, 200 after', async () => {
    await waitFor(async () => (await admin.ping().catch(() => '')) === 'PONG', 'admin back');
    await admin.call('ACL', 'SETUSER', 'node', 'on', '>pw', '~*', '&*', '+@all');
    const s = await server('health-b', redis.url.replace('redis://', 'redis://node:pw@'));
    const member = await TestClient.connect(`${s.url.replace('http', 'ws')}/ws`);
    clients.push(member);
    const room = 'chat:health';
    assert.equal((await member.request({ type: 'join', room })).type, 'joined');
    assert.equal((await api(s, 'POST', '/api/publish', { room, data: 1 })).status, 200);
    await member.next((m) => m.type === 'message' && m.offset === 1);

    // SUBSCRIBE refused from now on, then the subscriber connection dropped: it reconnects
    // (PING works, commands work) but holds no channel.
    await admin.call('ACL', 'SETUSER', 'node', '-subscribe');
    const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const line = list.split('\n').find((l) => l.includes(' name=barrage:health-b:sub '));
    assert.ok(line, 'subscriber connection of health-b listed');
    await admin.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);

    // First 'reconnecting'; then, connected but refused, the channels it should hold.
    const refused = /subscriber: \d+ channel\(s\) not subscribed/;
    let down = await healthz(s);
    await waitFor(
      async () => {
        down = await healthz(s);
        return refused.test(down.body.broker?.detail ?? '');
      },
      'healthz naming the unsubscribed channels',
      8000,
    );
    assert.equal(down.status, 503);
    assert.equal(down.body.broker?.ok, false);
    // Commands still work: the publish is accepted (acknowledged with its offset) ...
    const during = await api(s, 'POST', '/api/publish', { room, data: 2 });
    assert.equal(during.status, 200);
    assert.equal(during.body.offset, 2);

    await admin.call('ACL', 'SETUSER', 'node', '+subscribe');
    await waitFor(async () => (await healthz(s)).status === 200, 'healthz 200 again', 8000);
    // ... and reaches the member once the subscription is back, caught up from the stream.
    const caught = await member.next((m) => m.type === 'message' && m.room === room, 5000);
    assert.deepEqual([caught.offset, caught.data], [2, 2]);
    assert.equal((await api(s, 'POST', '/api/publish', { room, data: 3 })).status, 200);
    const live = await member.next((m) => m.type === 'message' && m.room === room, 5000);
    assert.deepEqual([live.offset, live.data], [3, 3]);
    assert.equal(member.closeCode, null);
  });
});
