import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sseFrame } from '../../src/gateway/sse-encoding.js';
import { decodePositions, encodePositions } from '../../src/gateway/sse-position.js';
import { TestClient } from '../support/client.js';
import { api, startServer, waitFor } from '../support/server.js';
import { SseReader } from '../support/sse-client.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

type Server = Awaited<ReturnType<typeof startServer>>;

function sseUrl(server: Server, query: string): string {
  return `${server.url}/sse?${query}`;
}

async function ssePublish(
  server: Server,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/sse/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('SSE encoding and positions', () => {
  it('encodes a frame once, one event per line, and reads the rooms positions from it', () => {
    const frame = Buffer.from(
      '{"type":"message","room":"chat:x","offset":7,"data":1,"ts":1,"from":null}\n' +
        '{"type":"message","priority":"paid","room":"chat:x","offset":8,"data":{"offset":99},"ts":1,"from":"a"}',
    );
    const a = sseFrame(frame);
    assert.equal(sseFrame(frame), a, 'a shared frame is encoded once');
    assert.equal(
      a.body.toString(),
      `event: message\ndata: ${frame.toString().split('\n')[0]}\n\nevent: message\ndata: ${frame.toString().split('\n')[1]}\n\n`,
    );
    assert.deepEqual([...a.offsets], [['chat:x', 8]]);
  });

  it('round-trips positions, room names with any character, and refuses foreign ids', () => {
    const positions = new Map([
      ['chat:a b', { epoch: 'E1', offset: 3 }],
      ['live:ü', { epoch: 'x:y', offset: 0 }],
    ]);
    assert.deepEqual(decodePositions(encodePositions(positions)), positions);
    assert.match(decodePositions('42') as string, /not a Barrage position/);
    assert.match(decodePositions('p1 a:b') as string, /ROOM:EPOCH:OFFSET/);
    assert.match(decodePositions(`p1 ${'x'.repeat(9000)}`) as string, /longer than/);
  });
});

describe('SSE streams', () => {
  let server: Server;
  const readers: SseReader[] = [];
  const open = async (query: string, headers: Record<string, string> = {}) => {
    const r = await SseReader.open(sseUrl(server, query), headers);
    readers.push(r);
    return r;
  };
  before(async () => {
    server = await startServer({ historySize: 5, heartbeatMs: 300, maxConnectionsPerIp: 50 });
  });
  after(async () => {
    for (const r of readers) r.close();
    await server.close();
  });

  it('streams the WebSocket lines as events: welcome, joined with history, message, presence', async () => {
    await api(server, 'POST', '/api/publish', { room: 'chat:sse', data: 'before' });
    const r = await open('rooms=chat:sse&history=5');
    assert.equal(r.status, 200);
    assert.match(String(r.res.headers['content-type']), /^text\/event-stream/);
    assert.equal(r.res.headers['x-accel-buffering'], 'no');
    assert.match(String(r.res.headers['cache-control']), /no-cache/);
    await r.next((e) => e.event === 'welcome');
    const joined = await r.next((e) => e.event === 'joined');
    assert.equal(joined.json.room, 'chat:sse');
    assert.deepEqual(
      (joined.json.messages as { data: unknown }[]).map((m) => m.data),
      ['before'],
    );
    await api(server, 'POST', '/api/publish', { room: 'chat:sse', data: { n: 1 } });
    const message = await r.next((e) => e.event === 'message');
    assert.deepEqual(message.json.data, { n: 1 });
    assert.equal(message.json.type, 'message');
    assert.match(r.lastEventId, /^p1 chat%3Asse:[^:]+:2$/, 'the id carries the position');
  });

  it('sends heartbeat comments while quiet and stays open', async () => {
    const r = await open('rooms=chat:quiet');
    await r.next((e) => e.event === 'joined');
    await waitFor(() => r.comments >= 2, 'two heartbeat comments', 15_000);
    assert.equal(r.ended, false);
  });

  it('recovers what it missed through Last-Event-ID, all or nothing', async () => {
    // Both rooms hold a message (an empty room keeps no epoch once its last reader leaves).
    await api(server, 'POST', '/api/publish', { room: 'chat:rec2', data: 'held' });
    const first = await open('rooms=chat:rec,chat:rec2');
    await first.next((e) => e.event === 'joined' && e.json.room === 'chat:rec2');
    await api(server, 'POST', '/api/publish', { room: 'chat:rec', data: 1 });
    await first.next((e) => e.event === 'message' && e.json.data === 1);
    const lastId = first.lastEventId;
    first.close();
    await api(server, 'POST', '/api/publish', { room: 'chat:rec', data: 2 });
    await api(server, 'POST', '/api/publish', { room: 'chat:rec', data: 3 });
    const again = await open('rooms=chat:rec,chat:rec2', { 'last-event-id': lastId });
    const rejoined = await again.next((e) => e.event === 'joined' && e.json.room === 'chat:rec');
    assert.equal(rejoined.json.recovered, true);
    assert.deepEqual(
      (rejoined.json.messages as { data: unknown }[]).map((m) => m.data),
      [2, 3],
    );
    const other = await again.next((e) => e.event === 'joined' && e.json.room === 'chat:rec2');
    assert.equal(other.json.recovered, true);
    // Past the history (5 held): recovered false, never a silent gap.
    for (let i = 4; i <= 12; i++)
      await api(server, 'POST', '/api/publish', { room: 'chat:rec', data: i });
    const stale = await open('rooms=chat:rec', { 'last-event-id': lastId });
    const late = await stale.next((e) => e.event === 'joined');
    assert.equal(late.json.recovered, false);
  });

  it('takes the position from ?lastEventId= too (a new stream with a new room set)', async () => {
    const first = await open('rooms=chat:q1');
    await first.next((e) => e.event === 'joined');
    await api(server, 'POST', '/api/publish', { room: 'chat:q1', data: 'a' });
    await first.next((e) => e.event === 'message');
    const id = first.lastEventId;
    first.close();
    await api(server, 'POST', '/api/publish', { room: 'chat:q1', data: 'b' });
    const second = await open(`rooms=chat:q1,chat:q2&lastEventId=${encodeURIComponent(id)}`);
    const joined = await second.next((e) => e.event === 'joined' && e.json.room === 'chat:q1');
    assert.equal(joined.json.recovered, true);
    assert.deepEqual(
      (joined.json.messages as { data: unknown }[]).map((m) => m.data),
      ['b'],
    );
  });

  it('refuses bad requests with 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['', /rooms/],
      [`rooms=${Array.from({ length: 200 }, (_, i) => `r${i}`).join(',')}`, /at most/],
      ['rooms=a&history=-1', /history/],
      ['rooms=a&history=x', /history/],
    ];
    for (const [query, message] of cases) {
      const res = await fetch(sseUrl(server, query));
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, message);
    }
    const bad = await fetch(sseUrl(server, 'rooms=a'), {
      headers: { 'last-event-id': 'nonsense' },
    });
    assert.equal(bad.status, 400);
    const post = await fetch(sseUrl(server, 'rooms=a'), { method: 'PUT' });
    assert.equal(post.status, 405);
  });

  it('refuses a foreign Origin and answers an allowed one with CORS', async () => {
    const foreign = await fetch(sseUrl(server, 'rooms=a'), {
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    const local = await open('rooms=chat:cors', { origin: 'http://localhost:3000' });
    assert.equal(local.status, 200);
    assert.equal(local.res.headers['access-control-allow-origin'], 'http://localhost:3000');
  });

  it('publishes without a socket: the WebSocket reply, delivered to stream and socket members', async () => {
    const r = await open('rooms=chat:post');
    await r.next((e) => e.event === 'joined');
    const ws = await TestClient.connect(server.wsUrl);
    await ws.request({ type: 'join', room: 'chat:post' });
    const res = await ssePublish(server, { room: 'chat:post', data: { text: 'hi' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'ok');
    assert.equal(typeof res.body.offset, 'number');
    const seen = await r.next((e) => e.event === 'message');
    assert.deepEqual(seen.json.data, { text: 'hi' });
    assert.deepEqual((await ws.next((m) => m.type === 'message')).data, { text: 'hi' });
    ws.close();
  });

  it('refuses a socketless publish that is not JSON, malformed, or from a foreign origin', async () => {
    const plain = await fetch(`${server.url}/sse/publish`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"room":"chat:x","data":1}',
    });
    assert.equal(plain.status, 415);
    const noData = await ssePublish(server, { room: 'chat:x' });
    assert.equal(noData.status, 400);
    assert.match(String(noData.body.message), /data/);
    const badRoom = await ssePublish(server, { room: '', data: 1 });
    assert.equal(badRoom.status, 400);
    const notObject = await ssePublish(server, '[1,2]');
    assert.equal(notObject.status, 400);
    const foreign = await ssePublish(
      server,
      { room: 'chat:x', data: 1 },
      { origin: 'http://evil.example' },
    );
    assert.equal(foreign.status, 403);
    const huge = await ssePublish(server, { room: 'chat:x', data: 'x'.repeat(70_000) });
    assert.equal(huge.status, 413);
  });

  it('ends every stream on shutdown with a close event and a retry hint', async () => {
    const own = await startServer({ reconnectDelayMs: 2000 });
    const r = await SseReader.open(sseUrl(own, 'rooms=chat:bye'));
    await r.next((e) => e.event === 'joined');
    await own.close();
    await r.closed();
    const close = r.all('close')[0];
    assert.ok(close, 'a close event');
    assert.equal(close.json.code, 1001);
    assert.ok(r.retry !== null && r.retry <= 2000, `retry ${r.retry}`);
  });
});

describe('SSE limits', () => {
  it('counts streams and sockets against the same per-IP cap', async () => {
    const server = await startServer({ maxConnectionsPerIp: 2 });
    try {
      const ws = await TestClient.connect(server.wsUrl);
      const one = await SseReader.open(sseUrl(server, 'rooms=chat:cap'));
      await one.next((e) => e.event === 'joined');
      const third = await fetch(sseUrl(server, 'rooms=chat:cap'));
      assert.equal(third.status, 429);
      await third.body?.cancel();
      one.close();
      ws.close();
      await waitFor(
        async () => (await fetch(sseUrl(server, 'rooms=')).then((r) => r.status)) === 400,
        'served',
      );
    } finally {
      await server.close();
    }
  });

  it('closes a stream whose every join was rate limited with 1013 and a retry hint, not a silent hang', async () => {
    // One address joined its burst: a stream that got no room at all is closed with a back-off
    // (EventSource comes back after it) instead of staying open with nothing in it.
    const server = await startServer({ joinRatePerIp: 0.01, joinBurstPerIp: 2 });
    try {
      const first = await SseReader.open(sseUrl(server, 'rooms=chat:j1,chat:j2'));
      await first.next((e) => e.event === 'joined' && e.json.room === 'chat:j2');
      const refused = await SseReader.open(sseUrl(server, 'rooms=chat:j3'));
      const error = await refused.next((e) => e.event === 'error');
      assert.equal(error.json.code, 'rate_limited');
      await refused.closed();
      const close = refused.all('close')[0];
      assert.equal(close?.json.code, 1013);
      const wait = Number(error.json.retryAfterMs);
      assert.ok(wait > 0 && refused.retry === wait, `retry ${refused.retry} for ${wait}`);
      assert.equal(first.ended, false, 'the stream that joined stays');
      first.close();
    } finally {
      await server.close();
    }
  });

  it('needs a token where auth is required, and applies its claims and the publish rate', async () => {
    const server = await startServer({
      jwtSecret: TEST_SECRET,
      requireAuth: true,
      publishRate: 1,
      publishBurst: 2,
    });
    try {
      const none = await fetch(sseUrl(server, 'rooms=chat:auth'));
      assert.equal(none.status, 401);
      const bad = await fetch(sseUrl(server, 'rooms=chat:auth&token=nope'));
      assert.equal(bad.status, 401);
      const token = await signToken('alice', { rooms: ['chat:auth'] });
      const ok = await SseReader.open(sseUrl(server, 'rooms=chat:auth'), {
        authorization: `Bearer ${token}`,
      });
      const welcome = await ok.next((e) => e.event === 'welcome');
      assert.equal(welcome.json.userId, 'alice');
      const outside = await SseReader.open(sseUrl(server, `rooms=chat:other&token=${token}`));
      const refused = await outside.next((e) => e.event === 'error');
      assert.equal(refused.json.code, 'forbidden');
      const auth = { authorization: `Bearer ${token}` };
      const replies = [];
      for (let i = 0; i < 3; i++)
        replies.push(await ssePublish(server, { room: 'chat:auth', data: i }, auth));
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 200, 429],
      );
      assert.ok(Number(replies[2]!.body.retryAfterMs) > 0);
      const anonymous = await ssePublish(server, { room: 'chat:auth', data: 'x' });
      assert.equal(anonymous.status, 401);
      ok.close();
      outside.close();
    } finally {
      await server.close();
    }
  });

  it('cuts a stream that stops reading in a reliable room with 4008', async () => {
    const server = await startServer({ sendSoftLimitBytes: 16_384, sendHardLimitBytes: 65_536 });
    try {
      // A raw socket that sends the request and never reads the answer.
      const socket = tcpConnect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`GET /sse?rooms=chat:stall HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.pause();
      await waitFor(
        async () => (await api(server, 'GET', '/api/rooms/chat:stall')).body.online === 1,
        'the stalled stream joined',
      );
      const pad = 'x'.repeat(30_000);
      let closed = false;
      for (let i = 0; i < 3000 && !closed; i++) {
        await api(server, 'POST', '/api/publish', { room: 'chat:stall', data: pad });
        closed = (await api(server, 'GET', '/api/rooms/chat:stall')).body.online === 0;
      }
      assert.ok(closed, 'the stalled stream was cut');
      const stats = await api(server, 'GET', '/api/stats');
      const closes = (stats.body.nodes as { closes: Record<string, number> }[])[0]!.closes;
      assert.ok(
        Object.keys(closes).some((k) => k.includes('4008')),
        JSON.stringify(closes),
      );
      socket.destroy();
    } finally {
      await server.close();
    }
  });
});
