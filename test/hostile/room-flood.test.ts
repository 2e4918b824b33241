/**
 * Room state flood (security.md): a client that never authenticates joins and leaves made-up room
 * names as fast as the command rate lets it. Before the defence, every join left broker state
 * behind (an epoch and a history ring in memory for minutes; a room meta key in Redis for 24 h)
 * while `/api/stats` showed `rooms: 0`, and joins over time were bounded only by the command rate.
 *
 * Pass criteria (state counts, not timings): joins accepted stay within the per-connection and
 * per-address buckets (burst + rate x elapsed); once the members left, the broker holds no state
 * for those rooms (`brokerState.streams` back to where it was; in Redis every room meta key the
 * flood made carries the short empty-room TTL and then is gone).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { type RedisProcess, rawCommand, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';

/** Small join buckets, and a command rate that does not get in their way. */
const LIMITS = {
  joinRate: 5,
  joinBurst: 20,
  joinRatePerIp: 20,
  joinBurstPerIp: 60,
  commandRate: 10_000,
  commandBurst: 10_000,
};

interface Report {
  rooms: number;
  brokerState: { streams: number; streamsCreated: number };
  errors: Record<string, number>;
}

async function report(server: { url: string }): Promise<Report> {
  const { body } = await api(server, 'GET', '/api/stats');
  return (body.nodes as Report[])[0]!;
}

/**
 * Sends `pairs` join/leave pairs of fresh room names in one frame and waits for every answer.
 * Returns the rooms joined and the elapsed time, s.
 */
async function flood(client: TestClient, tag: string, pairs: number) {
  const started = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < pairs; i++) {
    const room = `${tag}:${i}`;
    lines.push(JSON.stringify({ type: 'join', room, id: `j${i}` }));
    lines.push(JSON.stringify({ type: 'leave', room, id: `l${i}` }));
  }
  client.send(lines.join('\n'));
  const answers = () => client.lines.filter((m) => String(m.id ?? '').startsWith('j'));
  await waitFor(() => answers().length >= pairs, `${pairs} join answers`, 20_000);
  await client.next((m) => m.id === `l${pairs - 1}`, 20_000);
  const elapsed = (Date.now() - started) / 1000;
  const joined = answers().filter((m) => m.type === 'joined').length;
  const limited = answers().filter((m) => m.type === 'error' && m.code === 'rate_limited');
  for (const m of limited) assert.ok(Number(m.retryAfterMs) > 0, 'rate_limited says when');
  assert.equal(joined + limited.length, pairs, 'every join joined or was rate limited');
  return { joined, elapsed };
}

describe('room state flood: memory broker', () => {
  it('bounds joins over time per connection, and keeps no state for the rooms left', async () => {
    const server = await startServer(LIMITS);
    try {
      const before = await report(server);
      const client = await TestClient.connect(server.wsUrl); // never authenticates
      const { joined, elapsed } = await flood(client, 'made-up', 200);
      const bound = LIMITS.joinBurst + LIMITS.joinRate * elapsed + 1;
      assert.ok(joined >= LIMITS.joinBurst, `${joined} joined: the burst is allowed`);
      assert.ok(joined <= bound, `${joined} joined in ${elapsed} s, bound ${bound}`);
      const after = await report(server);
      assert.equal(after.rooms, 0);
      assert.equal(after.brokerState.streams, before.brokerState.streams, 'no stream left');
      assert.equal(after.brokerState.streamsCreated - before.brokerState.streamsCreated, joined);
      client.close();
    } finally {
      await server.close();
    }
  });

  it('bounds joins over time per address, across its connections', async () => {
    const server = await startServer(LIMITS);
    try {
      const clients = await Promise.all(
        Array.from({ length: 10 }, () => TestClient.connect(server.wsUrl)),
      );
      const started = Date.now();
      const results = await Promise.all(clients.map((c, i) => flood(c, `addr${i}`, 15)));
      const elapsed = (Date.now() - started) / 1000;
      const joined = results.reduce((sum, r) => sum + r.joined, 0);
      // 10 x 15 = 150 joins, each connection within its own burst of 20: only the address's
      // bucket (burst 60, 20/s) refuses.
      const bound = LIMITS.joinBurstPerIp + LIMITS.joinRatePerIp * elapsed + 1;
      assert.ok(joined <= bound, `${joined} joined in ${elapsed} s, bound ${bound}`);
      assert.ok(joined >= LIMITS.joinBurstPerIp, `${joined} joined: the burst is allowed`);
      const after = await report(server);
      assert.equal(after.brokerState.streams, 0);
      for (const c of clients) c.close();
    } finally {
      await server.close();
    }
  });
});

describe('room state flood: Redis broker', () => {
  let redis: RedisProcess;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  const metaKeys = async (prefix: string) =>
    Number(
      (
        await rawCommand(redis.port, `EVAL "return #redis.call('KEYS', ARGV[1])" 0 ${prefix}:r:*:m`)
      ).slice(1),
    );
  /** The longest PTTL among the room meta keys, ms (-1 when one has none). */
  const longestTtl = async (prefix: string) =>
    Number(
      (
        await rawCommand(
          redis.port,
          `EVAL "local m = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do local t = redis.call('PTTL', k) if t < 0 then return -1 end if t > m then m = t end end return m" 0 ${prefix}:r:*:m`,
        )
      ).slice(1),
    );

  it('leaves no room meta key behind once the members left', async () => {
    const presenceIntervalMs = 200;
    const presenceTtlMs = 3 * presenceIntervalMs + 1000; // as the server sets it
    const server = await startServer({
      ...LIMITS,
      redisUrl: redis.url,
      redisPrefix: 'flood',
      presenceIntervalMs,
    });
    try {
      const client = await TestClient.connect(server.wsUrl);
      const { joined } = await flood(client, 'made-up', 20);
      assert.equal(joined, 20);
      const written = await metaKeys('flood');
      assert.ok(written <= joined, `${written} meta keys for ${joined} joins`);
      const ttl = await longestTtl('flood');
      assert.ok(ttl >= 0 && ttl <= presenceTtlMs, `meta keys live ${ttl} ms, not 24 h`);
      await waitFor(async () => (await metaKeys('flood')) === 0, 'the meta keys to expire', 10_000);
      const after = await report(server);
      assert.equal(after.brokerState.streams, 0);
      client.close();
    } finally {
      await server.close();
    }
  });
});
