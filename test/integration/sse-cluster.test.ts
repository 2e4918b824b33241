/**
 * SSE across a cluster: two Barrage servers in this process, one real redis-server between them.
 * A stream on node A reads what POST /sse/publish on node B publishes, and a stream cut on A
 * resumes on B from its Last-Event-ID: no sticky sessions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BarrageClient, connect, type RoomMessage } from '../../client/index.js';
import { createRedisBroker } from '../../src/broker/redis/index.js';
import { type RedisProcess, startRedis } from '../support/redis-server.js';
import { startServer, waitFor } from '../support/server.js';
import { SseReader } from '../support/sse-client.js';

type Server = Awaited<ReturnType<typeof startServer>>;

describe('SSE in a cluster over Redis', () => {
  let redis: RedisProcess;
  const servers: Server[] = [];
  const clients: BarrageClient[] = [];
  const readers: SseReader[] = [];

  before(async () => {
    redis = await startRedis();
    for (const nodeId of ['a', 'b']) {
      const broker = createRedisBroker({
        url: redis.url,
        prefix: 'sse',
        nodeId,
        historySize: 100,
        historyTtlMs: 60_000,
        presenceTtlMs: 500,
      });
      servers.push(await startServer({ nodeId, broker, publishRate: 100, publishBurst: 100 }));
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const r of readers) r.close();
    await Promise.all(servers.map((s) => s.close()));
    await redis.stop();
  });

  it('an SDK stream on node A receives what the SDK POSTs on node B', async () => {
    const [a, b] = servers as [Server, Server];
    const reader = await connect(a.wsUrl, { transports: ['sse'] });
    const writer = await connect(b.wsUrl, { transports: ['sse'] });
    clients.push(reader, writer);
    assert.equal(reader.transport, 'sse');
    const sub = await reader.join('chat:cluster');
    const got: RoomMessage[] = [];
    sub.on('message', (m) => got.push(m));
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) offsets.push(await writer.publish('chat:cluster', i));
    await waitFor(() => got.length === 3, 'three messages across nodes');
    assert.deepEqual(
      got.map((m) => m.offset),
      offsets,
    );
  });

  it('a stream cut on node A resumes on node B from its Last-Event-ID', async () => {
    const [a, b] = servers as [Server, Server];
    const first = await SseReader.open(`${a.url}/sse?rooms=chat:move`);
    readers.push(first);
    await first.next((e) => e.event === 'joined');
    const post = (data: unknown) =>
      fetch(`${b.url}/sse/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room: 'chat:move', data }),
      }).then(async (r) => (await r.json()) as { offset: number });
    const before = await post('seen');
    await first.next((e) => e.event === 'message' && e.json.offset === before.offset);
    const lastId = first.lastEventId;
    assert.match(lastId, /^p1 chat%3Amove:/);
    first.close();
    const missed = [await post('missed-1'), await post('missed-2')];
    const second = await SseReader.open(`${b.url}/sse?rooms=chat:move`, {
      'last-event-id': lastId,
    });
    readers.push(second);
    const joined = await second.next((e) => e.event === 'joined');
    assert.equal(joined.json.recovered, true);
    const messages = joined.json.messages as { offset: number; data: unknown }[];
    assert.deepEqual(
      messages.map((m) => m.offset),
      missed.map((m) => m.offset),
    );
    assert.deepEqual(
      messages.map((m) => m.data),
      ['missed-1', 'missed-2'],
    );
  });
});
