/**
 * Starting on Redis, as a new user does it (issue 16, bugs 4 and 5): the database in the URL is
 * the one used, a database Redis does not have refuses the start, and a Redis that cannot be
 * reached says where (without the password) and why: refused, unknown host, not a Redis URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { BrokerUnavailableError } from '../../src/broker/types.js';
import { partsOf, Recorder, roomName } from '../contract/broker-contract.js';
import { freePort, type RedisProcess, startRedis } from '../support/redis-server.js';
import { killAll, spawnBarrage } from './processes.js';

let redis: RedisProcess;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await killAll();
  await redis.stop();
});

function broker(url: string) {
  return createRedisBroker({
    url,
    prefix: 'start',
    nodeId: 'start',
    historySize: 10,
    historyTtlMs: 60_000,
    connectTimeoutMs: 2000,
  });
}

/** Rejects with a BrokerUnavailableError whose message matches `pattern`. */
async function refusedStart(url: string, pattern: RegExp): Promise<string> {
  const b = broker(url);
  let message = '';
  await assert.rejects(b.start(new Recorder()), (err: unknown) => {
    assert.ok(err instanceof BrokerUnavailableError, String(err));
    message = err.message;
    assert.match(message, pattern);
    return true;
  });
  await b.close();
  return message;
}

describe('redis broker start', () => {
  it('uses the database the URL names', async () => {
    const b = broker(`${redis.url}/3`);
    await b.start(new Recorder());
    const room = roomName();
    try {
      await b.publish({ room, parts: partsOf(room, 0), ts: Date.now() });
    } finally {
      await b.close();
    }
    const admin = new Redis(`${redis.url}/3`, { lazyConnect: true });
    const db0 = new Redis(redis.url, { lazyConnect: true });
    try {
      await Promise.all([admin.connect(), db0.connect()]);
      assert.ok((await admin.keys(`start:*${room}*`)).length > 0, 'room keys in database 3');
      assert.deepEqual(await db0.keys(`start:*${room}*`), [], 'nothing in database 0');
    } finally {
      admin.disconnect();
      db0.disconnect();
    }
  });

  it('refuses a database Redis does not have', async () => {
    const message = await refusedStart(`${redis.url}/99`, /database 99 cannot be used/);
    assert.match(message, new RegExp(`redis://127\\.0\\.0\\.1:${redis.port}/99`));
  });

  it('names the URL without its password, and the cause: connection refused', async () => {
    const port = await freePort();
    const message = await refusedStart(
      `redis://:hunter2@127.0.0.1:${port}`,
      /the broker is unreachable: cannot connect to redis:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
    );
    assert.doesNotMatch(message, /hunter2/);
  });

  it('names an unknown host', async () => {
    await refusedStart('redis://no-such-host.invalid:6379', /unknown host/);
  });

  it('refuses a URL that is not redis:// before connecting', () => {
    assert.throws(
      () => broker('http://127.0.0.1:6379'),
      /must start with redis:\/\/ or rediss:\/\/: http:\/\/127\.0\.0\.1:6379/,
    );
  });

  it('barrage serve prints the URL and the cause, and exits non-zero', async () => {
    const port = await freePort();
    const refused = spawnBarrage([
      'serve',
      '--port',
      '0',
      '--redis-url',
      `redis://:hunter2@127.0.0.1:${port}/2`,
    ]);
    const http = spawnBarrage(['serve', '--port', '0', '--redis-url', 'http://127.0.0.1:6379']);
    assert.equal((await refused.exited).code, 1);
    assert.match(
      refused.stderr(),
      new RegExp(
        `barrage: the broker is unreachable: cannot connect to redis://127\\.0\\.0\\.1:${port}/2 \\(connection refused\\)`,
      ),
    );
    assert.doesNotMatch(refused.stderr(), /hunter2/);
    assert.equal((await http.exited).code, 2); // a usage error
    assert.match(
      http.stderr(),
      /--redis-url: http:\/\/127\.0\.0\.1:6379\/? must start with redis:\/\//,
    );
  });
});
