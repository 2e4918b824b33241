/**
 * Cluster-wide `GET /api/stats`: two servers started with `redisUrl` on one real redis-server.
 * Any node answers for every live node (its own report fresh, the others' as shared through
 * Redis with their age), totals sum them, and a node closed gracefully leaves the list at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { api, startServer, waitFor } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;
interface Report {
  nodeId: string;
  connections: number;
  messagesIn: number;
  rssBytes: number;
  eventLoopP99Ms: number;
  ageMs?: number;
}
interface Stats {
  nodes: Report[];
  totals: { nodes: number; connections: number; messagesIn: number };
}

let redis: RedisProcess;
const servers: Server[] = [];
const clients: TestClient[] = [];

before(async () => {
  redis = await startRedis();
  for (const nodeId of ['stats-a', 'stats-b']) {
    const options = { nodeId, redisUrl: redis.url, redisPrefix: 'st', presenceIntervalMs: 100 };
    servers.push(await startServer(options));
  }
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  await redis.stop();
});

async function stats(s: Server): Promise<Stats> {
  const res = await api(s, 'GET', '/api/stats');
  assert.equal(res.status, 200);
  return res.body as unknown as Stats;
}

describe('GET /api/stats on Redis', () => {
  it('lists every live node from any node, with totals', async () => {
    const [a, b] = servers as [Server, Server];
    for (let i = 0; i < 3; i++) clients.push(await TestClient.connect(`${b.wsUrl}`));
    clients.push(await TestClient.connect(a.wsUrl));
    const ok = await api(a, 'POST', '/api/publish', { room: 'chat:s', data: 1 });
    assert.equal(ok.status, 200);
    // b's report reaches a within a few intervals.
    await waitFor(
      async () => (await stats(a)).nodes.find((n) => n.nodeId === 'stats-b')?.connections === 3,
      'b with 3 connections seen from a',
    );
    const fromA = await stats(a);
    assert.deepEqual(
      fromA.nodes.map((n) => n.nodeId),
      ['stats-a', 'stats-b'],
    );
    const [own, other] = fromA.nodes as [Report, Report];
    assert.equal(own.ageMs, undefined, 'the answering node reports itself fresh');
    assert.equal(own.connections, 1);
    assert.equal(own.messagesIn, 1);
    assert.ok(typeof other.ageMs === 'number' && other.ageMs >= 0 && other.ageMs < 2000);
    assert.ok(other.rssBytes > 0 && typeof other.eventLoopP99Ms === 'number');
    assert.deepEqual(
      [fromA.totals.nodes, fromA.totals.connections, fromA.totals.messagesIn],
      [2, 4, 1],
    );
    // The other node answers the same set, itself first.
    await waitFor(
      async () => (await stats(b)).nodes.find((n) => n.nodeId === 'stats-a')?.messagesIn === 1,
      'a seen from b',
    );
    assert.deepEqual(
      (await stats(b)).nodes.map((n) => n.nodeId),
      ['stats-b', 'stats-a'],
    );
  });

  it('drops a node that closed gracefully at once', async () => {
    const [a, b] = servers as [Server, Server];
    await b.close();
    const after = await stats(a);
    assert.deepEqual(
      after.nodes.map((n) => n.nodeId),
      ['stats-a'],
    );
    assert.equal(after.totals.nodes, 1);
  });
});
