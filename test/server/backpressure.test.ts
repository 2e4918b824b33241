import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { stalledClient } from '../support/raw.js';
import { api, startServer, waitFor } from '../support/server.js';

const payload = 'x'.repeat(16_000);

// A client that never reads is cut off (reliable rooms) or skipped (lossy rooms) while the others
// keep receiving everything, and the server's memory stays bounded.
describe('Backpressure', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const clients: TestClient[] = [];
  const stalled: Socket[] = [];

  before(async () => {
    server = await startServer({
      roomPolicies: ['live:*=20/lossy'],
      sendSoftLimitBytes: 64 * 1024,
      sendHardLimitBytes: 256 * 1024,
      publishRate: 100_000,
      publishBurst: 100_000,
      commandRate: 100_000,
      commandBurst: 100_000,
      maxFrameBytes: 64 * 1024,
      // The no-progress cut (sendStallTimeoutMs) has its own test; here a never-reader must
      // meet only the send marks, however long a loaded machine takes to flood it.
      sendStallTimeoutMs: 0,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const s of stalled) s.destroy();
    await server.close();
  });

  async function joinStalled(room: string): Promise<Socket> {
    const socket = await stalledClient(server.port);
    stalled.push(socket);
    // A masked text frame carrying a join; the client never reads the answers.
    const { clientFrame } = await import('../support/raw.js');
    socket.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'join', room }))));
    return socket;
  }

  /** Publishes `count` messages from one connection in pipelined batches; stops early when `until` holds. */
  async function flood(
    room: string,
    count: number,
    until: () => Promise<boolean> = async () => false,
  ): Promise<number> {
    const publisher = await TestClient.connect(server.wsUrl);
    clients.push(publisher);
    let sent = 0;
    while (sent < count) {
      for (let i = 0; i < 50 && sent < count; i++)
        publisher.send({ type: 'publish', room, data: { i: sent++, payload } });
      await publisher.request({ type: 'ping' }, 10_000);
      if (await until()) break;
    }
    return sent;
  }

  async function stats(): Promise<Record<string, unknown>> {
    const s = await api(server, 'GET', '/api/stats');
    return (s.body.nodes as Record<string, unknown>[])[0]!;
  }

  it('closes a never-reading client of a reliable room with 4008 while others get every message', async () => {
    const good = await TestClient.connect(server.wsUrl);
    clients.push(good);
    await good.request({ type: 'join', room: 'chat:slow' });
    await joinStalled('chat:slow');
    await waitFor(
      async () => (await api(server, 'GET', '/api/rooms/chat:slow')).body.online === 2,
      'stalled member joined',
    );
    const sent = await flood(
      'chat:slow',
      3000,
      async () => server.node.hub.counters.closedSlow === 1,
    );
    // Cut off long before the stream ended: the server did not queue the whole stream for it.
    assert.ok(sent < 3000, `still connected after ${sent} messages of 16 kB`);
    await waitFor(
      async () => ((await stats()).closes as Record<string, number>)['4008'] === 1,
      'a 4008 close',
      10_000,
    );
    const last = (await api(server, 'GET', '/api/rooms/chat:slow')).body.offset as number;
    await good.next((m) => m.type === 'message' && m.offset === last, 10_000);
    const offsets = good.all('message').map((m) => m.offset as number);
    assert.deepEqual(
      offsets,
      Array.from({ length: last }, (_, i) => i + 1),
    );
  });

  it('skips lossy messages for a never-reading client and counts them, without closing it', async () => {
    const good = await TestClient.connect(server.wsUrl);
    clients.push(good);
    await good.request({ type: 'join', room: 'live:slow' });
    await joinStalled('live:slow');
    await waitFor(
      async () => (await api(server, 'GET', '/api/rooms/live:slow')).body.online === 2,
      'stalled member joined',
    );
    const before = await stats();
    const dropsBefore = (before.drops as Record<string, number>).slow ?? 0;
    const tooSlowBefore = (before.closes as Record<string, number>)['4008'] ?? 0;
    await flood('live:slow', 1500);
    // A paid message is never skipped: once the reader has it, everything before was sent or
    // counted as dropped.
    const end = await api(server, 'POST', '/api/publish', {
      room: 'live:slow',
      data: 'end',
      priority: 'paid',
    });
    await good.next((m) => m.type === 'message' && m.offset === end.body.offset, 30_000);
    const got = good.all('message').map((m) => m.offset as number);
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
      'in order',
    );
    const after = await stats();
    const dropped = ((after.drops as Record<string, number>).slow ?? 0) - dropsBefore;
    // A reading client loses nothing uncounted (on a loaded machine it may fall behind its own
    // soft mark too); the never-reader lost at least one message, counted.
    assert.ok(dropped >= 1500 - (got.length - 1) + 1, `${dropped} drops, reader got ${got.length}`);
    assert.equal(
      ((after.closes as Record<string, number>)['4008'] ?? 0) - tooSlowBefore,
      0,
      'no new 4008 close for a lossy room',
    );
  });
});
