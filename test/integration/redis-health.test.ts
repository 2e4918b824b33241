/**
 * `/healthz` tells the truth about the Redis broker, over real HTTP against a server started with
 * `redisUrl` (the path `barrage serve --redis-url` takes) and a real redis-server:
 * - Redis killed: 503 naming the broker, with no driver text in the public body (the reason goes
 *   to the log); Redis back: 200 again without any help.
 * - The subscriber connection dead while commands work (Redis refuses its SUBSCRIBE after it was
 *   dropped, through an ACL): 503, the log naming the subscriber; allowed again: 200 by itself, and the
 *   message published meanwhile reaches the member, caught up from the room's stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TestClient } from '../support/client.js';
import { type Logged, recordingLogger } from '../support/logger.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

interface Healthz {
  status: number;
  body: { status?: string; broker?: { kind: string; ok: boolean; detail?: string } };
  text: string;
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

async function server(nodeId: string, redisUrl: string, lines: Logged[] = []): Promise<Server> {
  const s = await startServer({
    nodeId,
    redisUrl,
    redisPrefix: nodeId,
    presenceIntervalMs: 200,
    logger: recordingLogger(lines),
  });
  servers.push(s);
  return s;
}

async function healthz(s: Server): Promise<Healthz> {
  const res = await fetch(`${s.url}/healthz`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Healthz['body'], text };
}

/** The broker details the server logged for /healthz. */
function loggedDetails(lines: Logged[]): string[] {
  return lines
    .filter((l) => l.message === 'healthz: broker unhealthy')
    .map((l) => String(l.fields.detail));
}

describe('/healthz with the Redis broker', () => {
  it('is 503 without driver text while Redis is down (the log has it), 200 once it is back', async () => {
    const lines: Logged[] = [];
    const s = await server('health-a', redis.url, lines);
    const up = await healthz(s);
    assert.equal(up.status, 200);
    assert.deepEqual(up.body.broker, { kind: 'redis', ok: true });

    await redis.kill();
    await waitFor(async () => (await healthz(s)).status === 503, 'healthz 503', 5000);
    const down = await healthz(s);
    assert.equal(down.body.status, 'unavailable');
    assert.equal(down.body.broker?.kind, 'redis');
    assert.deepEqual(down.body.broker, { kind: 'redis', ok: false });
    // The public body: stable states only, nothing of the driver or of where Redis is.
    const port = new URL(redis.url).port;
    for (const leak of ['ECONNREFUSED', 'refused', 'reconnecting', '127.0.0.1', port, 'detail'])
      assert.ok(!down.text.includes(leak), `/healthz body ${down.text} holds ${leak}`);
    // The reason is in the server log.
    assert.ok(
      loggedDetails(lines).some((d) =>
        /^Redis \w+ connection to redis:\/\/127\.0\.0\.1:\d+: /.test(d),
      ),
      `logged: ${loggedDetails(lines).join(' | ')}`,
    );

    await redis.restart();
    await admin.connect().catch(() => {}); // the admin connection reconnects by itself too
    await waitFor(async () => (await healthz(s)).status === 200, 'healthz 200 again', 10_000);
    assert.deepEqual((await healthz(s)).body.broker, { kind: 'redis', ok: true });
  });

  it('is 503 naming the subscriber while its subscriptions are refused, 200 after', async () => {
    await waitFor(async () => (await admin.ping().catch(() => '')) === 'PONG', 'admin back');
    await admin.call('ACL', 'SETUSER', 'node', 'on', '>pw', '~*', '&*', '+@all');
    const lines: Logged[] = [];
    const s = await server('health-b', redis.url.replace('redis://', 'redis://node:pw@'), lines);
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
        return loggedDetails(lines).some((d) => refused.test(d));
      },
      'a log line naming the unsubscribed channels',
      8000,
    );
    assert.equal(down.status, 503);
    assert.deepEqual(down.body.broker, { kind: 'redis', ok: false });
    // The user's password is in no logged detail.
    assert.ok(loggedDetails(lines).every((d) => !d.includes('pw@')));
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
