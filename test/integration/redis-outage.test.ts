/**
 * What a node says and does while Redis is away (issue 10 items 4-5, issue 16 bug 6), against a
 * real redis-server behind the test's TCP proxy:
 * - black-holed (packets dropped, no RST): every call is refused within the configured command
 *   timeout, not after two of them; the silent connections are dropped and reconnected;
 * - down: an ordinary publish is refused in the product's words ("the broker is unreachable"),
 *   never ioredis internals nor moderation, through the broker and through a server;
 * - `/healthz` names the connection that is missing; the log says once that Redis was lost and
 *   once that it is back, however many calls failed in between.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { BrokerUnavailableError } from '../../src/broker/types.js';
import type { Logger } from '../../src/log.js';
import { eventually, partsOf, Recorder, roomName } from '../contract/broker-contract.js';
import { TestClient } from '../support/client.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { startServer } from '../support/server.js';
import { TcpProxy } from '../support/tcp-proxy.js';

let redis: RedisProcess;
let proxy: TcpProxy;

before(async () => {
  redis = await startRedis();
  proxy = await TcpProxy.start(redis.port);
});

after(async () => {
  await proxy.close();
  await redis.stop();
});

/** A logger that keeps every line. */
class Lines implements Logger {
  readonly lines: { level: string; msg: string; fields: object }[] = [];
  private add(level: string, fields: object, msg = '') {
    this.lines.push({ level, msg, fields });
  }
  debug(f: object, m?: string) {
    this.add('debug', f, m);
  }
  info(f: object, m?: string) {
    this.add('info', f, m);
  }
  warn(f: object, m?: string) {
    this.add('warn', f, m);
  }
  error(f: object, m?: string) {
    this.add('error', f, m);
  }
  child() {
    return this;
  }
  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l.msg)).length;
  }
}

const TIMEOUT_MS = 500;

function broker(log: Lines) {
  return createRedisBroker({
    url: proxy.url,
    prefix: `outage${Math.random().toString(36).slice(2, 8)}`,
    nodeId: 'outage',
    historySize: 10,
    historyTtlMs: 60_000,
    commandTimeoutMs: TIMEOUT_MS,
    log,
  });
}

describe('a black-holed Redis', () => {
  it('refuses every call within the command timeout, reconnects the silent connections, logs once', async () => {
    const log = new Lines();
    const b = broker(log);
    await b.start(new Recorder());
    const room = roomName();
    try {
      await b.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
      const acceptedBefore = proxy.accepted;
      proxy.blackHole();
      // One after another: each waits behind the previous (still unanswered) pipeline, which
      // doubled the wait before the bound counted from the call's start.
      for (let i = 1; i <= 4; i++) {
        const t0 = Date.now();
        await assert.rejects(
          b.publish({ room, parts: partsOf(room, i), ts: Date.now() }),
          (err: unknown) => {
            assert.ok(err instanceof BrokerUnavailableError);
            assert.match(err.message, /^the broker timed out: no answer from redis:\/\//);
            return true;
          },
        );
        const took = Date.now() - t0;
        // Our bound, from the call's start: well below two timeouts (the old behaviour).
        assert.ok(took < 2 * TIMEOUT_MS - 50, `refusal ${i} took ${took} ms`);
      }
      assert.equal(b.health().ok, false);
      assert.match(b.health().detail ?? '', /timed out|no answer/);
      // Three silent PINGs in a row: the connections are dropped and opened again.
      await eventually(
        'a new connection through the proxy',
        () => proxy.accepted > acceptedBefore,
        30_000,
      );
      assert.equal(log.count(/^redis lost/), 1);
      proxy.heal();
      await eventually('healthy again', () => b.health().ok, 30_000);
      const r = await b.publish({ room, parts: partsOf(room, 9), ts: Date.now() });
      assert.ok(r.offset >= 2);
      await eventually('one "back" line', () => log.count(/^redis back/) === 1, 10_000);
      assert.equal(log.count(/^redis lost/), 1, 'still one "lost" line');
    } finally {
      proxy.heal();
      await b.close();
    }
  });
});

describe('a Redis that is down', () => {
  it('refuses a publish in the product words, names the missing connection, logs lost and back once each', async () => {
    const lines = new Lines();
    const server = await startServer({
      nodeId: 'outage-srv',
      redisUrl: proxy.url,
      redisCommandTimeoutMs: TIMEOUT_MS,
      presenceIntervalMs: 100,
      logger: lines,
    });
    const client = await TestClient.connect(server.wsUrl);
    try {
      const room = roomName('down');
      assert.equal((await client.request({ type: 'join', room })).type, 'joined');
      proxy.refuse(true);
      proxy.cut();
      await eventually(
        'unhealthy',
        async () => (await fetch(`${server.url}/healthz`)).status === 503,
      );
      // /healthz is public: the connection's name and state go to the log, not the body.
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as {
        broker?: { detail?: string };
      };
      assert.equal(health.broker?.detail, undefined);
      const logged = lines.lines.find((l) => l.msg === 'healthz: broker unhealthy');
      assert.match(
        String((logged?.fields as { detail?: string } | undefined)?.detail),
        /^Redis (command|subscriber) connection to redis:\/\/127\.0\.0\.1:\d+: \w+/,
      );
      const replies = [];
      for (let i = 0; i < 5; i++) {
        replies.push(await client.request({ type: 'publish', room, data: i }));
      }
      for (const reply of replies) {
        assert.equal(reply.type, 'error');
        assert.equal(reply.code, 'unavailable');
        assert.equal(reply.message, 'the broker is unreachable; try again later');
        assert.doesNotMatch(String(reply.message), /Stream|enableOfflineQueue|moderation/);
      }
      const api = await fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room, data: 'x' }),
      });
      assert.equal(api.status, 503);
      const apiBody = await api.text();
      assert.match(apiBody, /the broker is unreachable; try again later/);
      assert.doesNotMatch(apiBody, /redis:|127\.0\.0\.1|refused/);
      // Presence ticks every 100 ms fail all along: one warning for the whole outage.
      await eventually('a presence failure logged', () => lines.count(/presence tick failed/) > 0);
      proxy.refuse(false);
      await eventually(
        'healthy',
        async () => (await fetch(`${server.url}/healthz`)).status === 200,
        30_000,
      );
      await eventually(
        'presence works again',
        () => lines.count(/presence ticks work again/) === 1,
        10_000,
      );
      assert.equal(lines.count(/^redis lost/), 1);
      assert.equal(lines.count(/^redis back/), 1);
      assert.equal(lines.count(/presence tick failed/), 1);
    } finally {
      proxy.refuse(false);
      client.close();
      await server.close();
    }
  });
});
