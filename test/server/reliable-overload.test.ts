/**
 * A reliable room under the default policy (issue 15): rooms outside `live:*` merge adaptively
 * now, and must still keep their promise under load. A member that cannot keep up is closed 4008,
 * what it received is a gap-free prefix, and a rejoin with `since` recovers every message after
 * it; the members that keep up get every message. Nothing is skipped silently.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';

const payload = 'x'.repeat(16_000);
const ROOM = 'chat-1';

describe('Reliable room under overload (default policy)', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const clients: TestClient[] = [];

  before(async () => {
    server = await startServer({
      sendSoftLimitBytes: 64 * 1024,
      sendHardLimitBytes: 256 * 1024,
      publishRate: 100_000,
      publishBurst: 100_000,
      commandRate: 100_000,
      commandBurst: 100_000,
      maxFrameBytes: 64 * 1024,
      historySize: 5000,
      // Only the hard mark may close the slow member here (the stall cut has its own test).
      sendStallTimeoutMs: 0,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  const connect = async (): Promise<TestClient> => {
    const c = await TestClient.connect(server.wsUrl);
    clients.push(c);
    return c;
  };

  /** A member whose socket we can stop reading (its TCP window fills, as a stalled phone's). */
  async function pausable(): Promise<{ client: TestClient; socket: Socket }> {
    let socket: Socket | null = null;
    const client = await TestClient.connect(server.wsUrl, {
      createConnection: (options) => {
        socket = netConnect(options as Parameters<typeof netConnect>[0]);
        return socket;
      },
    });
    clients.push(client);
    assert.ok(socket, 'the socket was made by createConnection');
    return { client, socket };
  }

  it('closes a member that cannot keep up with 4008; it resumes with since and misses nothing', async () => {
    const reader = await connect();
    await reader.request({ type: 'join', room: ROOM });
    const { client: slow, socket } = await pausable();
    const joined = await slow.request({ type: 'join', room: ROOM });
    const policy = await api(server, 'GET', `/api/rooms/${ROOM}`);
    assert.equal(policy.body.online, 2);
    socket.pause();

    const publisher = await connect();
    let sent = 0;
    while (sent < 3000 && server.node.hub.counters.closedSlow === 0) {
      for (let i = 0; i < 50; i++)
        publisher.send({ type: 'publish', room: ROOM, data: { payload } });
      sent += 50;
      await publisher.request({ type: 'ping' }, 10_000);
    }
    assert.equal(server.node.hub.counters.closedSlow, 1, `not closed after ${sent} messages`);
    assert.equal(server.node.hub.counters.droppedSlow, 0, 'a reliable room skips nothing');
    socket.resume();
    await slow.closed(15_000);
    const stats = await api(server, 'GET', '/api/stats');
    const node = (stats.body.nodes as Record<string, Record<string, number>>[])[0]!;
    assert.equal(node.closes!['4008'], 1);

    const last = (await api(server, 'GET', `/api/rooms/${ROOM}`)).body.offset as number;
    const all = Array.from({ length: last }, (_, i) => i + 1);
    await reader.next((m) => m.type === 'message' && m.offset === last, 15_000);
    assert.deepEqual(
      reader.all('message').map((m) => m.offset),
      all,
    );

    const got = slow.all('message').map((m) => m.offset as number);
    assert.deepEqual(got, all.slice(0, got.length), 'the slow member got a gap-free prefix');
    const resumed = await connect();
    const rejoined = await resumed.request(
      {
        type: 'join',
        room: ROOM,
        since: {
          offset: got.length > 0 ? got[got.length - 1] : joined.offset,
          epoch: joined.epoch,
        },
      },
      15_000,
    );
    assert.equal(rejoined.recovered, true);
    const recovered = (rejoined.messages as { offset: number }[]).map((m) => m.offset);
    assert.deepEqual([...got, ...recovered], all, 'prefix + recovery = every message');
  });
});
