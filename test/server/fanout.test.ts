import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { useServer } from '../support/fixture.js';
import { api, startServer } from '../support/server.js';

// The fan-out path: merge windows and one frame per batch.
describe('Fan-out', () => {
  const fx = useServer({
    // A fixed window merges whatever the room's load; an adaptive one waits only in an expensive
    // room (a few members at a few dozen messages a second are not: see the next tests and
    // src/hub/adaptive.test.ts).
    roomPolicies: ['live:*=100/lossy/fixed', 'chat:*=0'],
    publishRate: 1000,
    publishBurst: 1000,
  });
  const connect = fx.connect;

  it('merges the messages of a windowed room into fewer frames, same content, in order', async () => {
    const viewers = await Promise.all([connect(), connect(), connect()]);
    for (const v of viewers) await v.request({ type: 'join', room: 'live:merge' });
    const poster = await connect();
    for (let i = 0; i < 30; i++) poster.send({ type: 'publish', room: 'live:merge', data: { i } });
    for (const v of viewers) {
      await v.next((m) => m.type === 'message' && (m.data as { i: number }).i === 29);
      const messages = v.all('message');
      assert.deepEqual(
        messages.map((m) => (m.data as { i: number }).i),
        Array.from({ length: 30 }, (_, i) => i),
      );
      const frames = v.frames.filter((f) => f.includes('"type":"message"'));
      assert.ok(frames.length < 10, `expected merged frames, got ${frames.length}`);
      assert.ok(frames.some((f) => f.split('\n').length > 1));
    }
  });

  it('adds no delay in a quiet windowed room: the window adapts to the load', async () => {
    // A 10 s window: held for it, the message would come long after the 5 s a loaded machine
    // needs at most to deliver it at once.
    const slow = await startServer({ roomPolicies: ['live:*=10000/lossy'] });
    try {
      const v = await TestClient.connect(slow.wsUrl);
      await v.request({ type: 'join', room: 'live:quiet' });
      const sent = Date.now();
      await api(slow, 'POST', '/api/publish', { room: 'live:quiet', data: 'hi' });
      await v.next((m) => m.type === 'message');
      assert.ok(Date.now() - sent < 5000, `took ${Date.now() - sent} ms: held for the window`);
      v.close();
    } finally {
      await slow.close();
    }
  });

  it('sends each message of an unwindowed room in its own frame at once', async () => {
    const v = await connect();
    await v.request({ type: 'join', room: 'chat:instant' });
    for (let i = 0; i < 5; i++)
      await api(fx.server, 'POST', '/api/publish', { room: 'chat:instant', data: i });
    await v.next((m) => m.type === 'message' && m.data === 4);
    const frames = v.frames.filter((f) => f.includes('"type":"message"'));
    assert.equal(frames.length, 5);
  });

  it('lists the busiest rooms by members and by rate, with their merge ratio', async () => {
    const byMembers = await api(fx.server, 'GET', '/api/rooms?sort=members&limit=2');
    assert.equal(byMembers.status, 200);
    const rooms = byMembers.body.rooms as { room: string; members: number; mergeRatio: number }[];
    assert.equal(rooms.length, 2);
    assert.equal(rooms[0]!.room, 'live:merge');
    assert.equal(rooms[0]!.members, 3);
    assert.ok(rooms[0]!.mergeRatio > 1, 'messages were merged');
    const byRate = await api(fx.server, 'GET', '/api/rooms?sort=rate');
    assert.equal(byRate.status, 200);
    const bad = await api(fx.server, 'GET', '/api/rooms?sort=size');
    assert.equal(bad.status, 400);
  });

  it('counts frames and deliveries in stats and metrics', async () => {
    const stats = await api(fx.server, 'GET', '/api/stats');
    const node = (
      stats.body.nodes as { messagesOut: number; framesOut: number; fanoutSpanP99Ms: number }[]
    )[0]!;
    assert.ok(node.messagesOut >= 95);
    assert.ok(node.framesOut < node.messagesOut, 'merged frames carry several messages');
    // Writing a frame to members takes some time, measured in fractions of a ms.
    assert.ok(node.fanoutSpanP99Ms > 0, `fan-out span ${node.fanoutSpanP99Ms} ms`);
    const res = await fetch(`${fx.server.url}/metrics`);
    const text = await res.text();
    assert.match(text, /barrage_messages_out_total\{[^}]*\} \d+/);
    assert.match(text, /barrage_fanout_latency_seconds_bucket/);
    assert.match(text, /barrage_drops_total\{[^}]*reason="slow"/);
    // Per-room series for the busiest rooms only.
    assert.match(text, /barrage_room_members\{[^}]*room="live:merge"[^}]*\} 3/);
    assert.match(text, /barrage_room_merge_ratio\{[^}]*room="live:merge"/);
  });
});
