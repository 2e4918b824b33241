import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer } from '../support/fixture.js';
import { api, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

// Every row of PROTOCOL.md's WebSocket tables, over real sockets, on the embedded broker.
describe('WebSocket contract', () => {
  const fx = useServer({
    jwtSecret: TEST_SECRET,
    allowAnonymousPublish: true,
    presenceIntervalMs: 100,
  });
  const connect = fx.connect;

  it('sends welcome with connId and heartbeat, and userId when the URL carried a token', async () => {
    const anon = await connect();
    const welcome = anon.lines[0]!;
    assert.equal(welcome.type, 'welcome');
    assert.equal(typeof welcome.connId, 'string');
    assert.equal(welcome.heartbeat, 25000);
    assert.equal('userId' in welcome, false);
    const token = await signToken('alice');
    const known = await connect(`?token=${token}`);
    assert.equal(known.lines[0]!.userId, 'alice');
  });

  it('answers auth with ok and the user id', async () => {
    const c = await connect();
    const reply = await c.request({ type: 'auth', token: await signToken('bob') });
    assert.deepEqual(reply, { type: 'ok', id: reply.id, userId: 'bob' });
  });

  it('answers a bad token with unauthorized and closes with 4501', async () => {
    const c = await connect();
    const reply = await c.request({ type: 'auth', token: 'not-a-jwt' });
    assert.equal(reply.type, 'error');
    assert.equal(reply.code, 'unauthorized');
    assert.equal(await c.closed(), 4501);
  });

  it('joins with online count, offset, epoch and history', async () => {
    const c = await connect();
    await api(fx.server, 'POST', '/api/publish', { room: 'chat:join', data: 'one' });
    await api(fx.server, 'POST', '/api/publish', { room: 'chat:join', data: 'two' });
    const joined = await c.request({ type: 'join', room: 'chat:join', history: 10 });
    assert.equal(joined.type, 'joined');
    assert.equal(joined.room, 'chat:join');
    assert.equal(joined.online, 1);
    assert.equal(joined.offset, 2);
    assert.equal(typeof joined.epoch, 'string');
    assert.equal(joined.recovered, false);
    const messages = joined.messages as Record<string, unknown>[];
    assert.deepEqual(
      messages.map((m) => m.data),
      ['one', 'two'],
    );
    assert.deepEqual(
      messages.map((m) => m.offset),
      [1, 2],
    );
  });

  it('publishes: ok with the offset, and a message to every member with room, offset, data, ts, from', async () => {
    const token = await signToken('carol');
    const a = await connect(`?token=${token}`);
    const b = await connect();
    await a.request({ type: 'join', room: 'chat:pub' });
    await b.request({ type: 'join', room: 'chat:pub' });
    const before = Date.now();
    const ok = await a.request({
      type: 'publish',
      room: 'chat:pub',
      data: { text: 'hello', n: [1, 2] },
    });
    assert.deepEqual(ok, { type: 'ok', id: ok.id, offset: 1 });
    for (const c of [a, b]) {
      const m = await c.next((x) => x.type === 'message');
      assert.equal(m.room, 'chat:pub');
      assert.equal(m.offset, 1);
      assert.deepEqual(m.data, { text: 'hello', n: [1, 2] });
      assert.equal(m.from, 'carol');
      assert.ok(typeof m.ts === 'number' && m.ts >= before - 5 && m.ts <= Date.now() + 5);
    }
  });

  it('marks anonymous publishes with from: null', async () => {
    const c = await connect();
    await c.request({ type: 'join', room: 'chat:anon' });
    await c.request({ type: 'publish', room: 'chat:anon', data: 1 });
    const m = await c.next((x) => x.type === 'message');
    assert.equal(m.from, null);
  });

  it('leaves: ok, and no more messages from the room', async () => {
    const c = await connect();
    await c.request({ type: 'join', room: 'chat:leave' });
    const ok = await c.request({ type: 'leave', room: 'chat:leave' });
    assert.deepEqual(ok, { type: 'ok', id: ok.id });
    await api(fx.server, 'POST', '/api/publish', { room: 'chat:leave', data: 'after' });
    const probe = await c.request({ type: 'ping' });
    assert.equal(probe.type, 'pong');
    assert.equal(c.all('message').length, 0);
  });

  it('answers leave of a room it is not in with not_found', async () => {
    const c = await connect();
    const reply = await c.request({ type: 'leave', room: 'chat:never' });
    assert.equal(reply.code, 'not_found');
  });

  it('answers ping with pong carrying the id', async () => {
    const c = await connect();
    const reply = await c.request({ type: 'ping' });
    assert.deepEqual(reply, { type: 'pong', id: reply.id });
  });

  it('keeps string ids as they were', async () => {
    const c = await connect();
    c.send({ type: 'ping', id: 'abc-1' });
    const reply = await c.next((m) => m.type === 'pong');
    assert.equal(reply.id, 'abc-1');
  });

  it('sends presence when a room count changes, coalesced per interval', async () => {
    const a = await connect();
    await a.request({ type: 'join', room: 'chat:presence' });
    const others = await Promise.all([connect(), connect(), connect()]);
    await Promise.all(others.map((o) => o.request({ type: 'join', room: 'chat:presence' })));
    const seen = await a.next((m) => m.type === 'presence' && m.online === 4, 3000);
    assert.equal(seen.room, 'chat:presence');
    // Three joins within one interval produce at most two announcements, not one per join.
    assert.ok(a.all('presence').length <= 2);
    others[0]!.close();
    await a.next((m) => m.type === 'presence' && m.online === 3, 3000);
  });

  it('reports the room over the HTTP API', async () => {
    const c = await connect();
    const joined = await c.request({ type: 'join', room: 'chat:info' });
    await api(fx.server, 'POST', '/api/publish', { room: 'chat:info', data: 1 });
    const info = await api(fx.server, 'GET', '/api/rooms/chat:info');
    assert.equal(info.status, 200);
    assert.deepEqual(info.body, { room: 'chat:info', online: 1, offset: 1, epoch: joined.epoch });
  });

  it('answers every line of a multi-line client frame', async () => {
    const c = await connect();
    c.send('{"type":"ping","id":1}\n{"type":"ping","id":2}\n\n{"type":"ping","id":3}');
    for (const id of [1, 2, 3]) await c.next((m) => m.type === 'pong' && m.id === id);
  });

  it('counts connections in /api/stats', async () => {
    const stats = await api(fx.server, 'GET', '/api/stats');
    const nodes = stats.body.nodes as Record<string, unknown>[];
    assert.equal(nodes.length, 1);
    await waitFor(async () => {
      const s = await api(fx.server, 'GET', '/api/stats');
      return (
        (s.body.totals as { connections: number }).connections ===
        fx.clients.filter((c) => c.closeCode === null).length
      );
    }, 'connection count to match');
  });
});
