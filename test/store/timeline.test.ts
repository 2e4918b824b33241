/**
 * Timeline rooms, stored chat history and the DPlayer shim end to end (issue 12), on a real server
 * with the embedded store in a temp directory, over real sockets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { useServer } from '../support/fixture.js';
import { type Logged, recordingLogger } from '../support/logger.js';
import { api } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-timeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Comment = { id: string; t: number; data: unknown; from: string | null; priority?: string };

describe('timeline rooms (embedded store)', () => {
  const logged: Logged[] = [];
  const fx = useServer({
    logger: recordingLogger(logged),
    origins: ['https://player.example'],
    hooks: {
      // A bug in an embedding application's hook, met by a DPlayer read of video "bug".
      authorizeJoin: (_c, room) => {
        if (room === 'vod:bug') throw new Error('hook bug: tenant table missing');
        return true;
      },
    },
    store: 'embedded',
    dataDir: dir,
    jwtSecret: TEST_SECRET,
    allowAnonymousPublish: true,
    timelineDensity: 10,
    storedRooms: ['chat:*'],
    historySize: 5,
    publishRate: 10_000,
    publishBurst: 10_000,
    commandRate: 10_000,
    commandBurst: 10_000,
  });
  const timeline = async (room: string, query = 'from=0&to=172800000') => {
    const r = await api(fx.server, 'GET', `/api/rooms/${room}/timeline?${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { comments: Comment[]; next: string | null };
  };

  it('a WebSocket publish carries t to members, is acknowledged after commit, and is read back', async () => {
    const viewer = await fx.connect();
    await viewer.request({ type: 'join', room: 'vod:a' });
    const author = await fx.connectAs('alice');
    const ok = await author.request({
      type: 'publish',
      room: 'vod:a',
      data: { text: 'at 0:42' },
      t: 42_000,
    });
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
    const live = await viewer.next((m) => m.type === 'message');
    assert.equal(live.t, 42_000);
    assert.deepEqual(live.data, { text: 'at 0:42' });
    // Acknowledged means committed: the read sees it at once.
    const { comments } = await timeline('vod:a');
    assert.equal(comments.length, 1);
    assert.deepEqual(comments[0]!.data, { text: 'at 0:42' });
    assert.equal(comments[0]!.t, 42_000);
    assert.equal(comments[0]!.from, 'alice');
    assert.match(comments[0]!.id, /^.+\.1$/);
  });

  it('publishes from many connections at once: each acknowledged comment is read back once', async () => {
    // Batches then wait for the database thread together and commit in one transaction.
    const conns = await Promise.all(Array.from({ length: 20 }, () => fx.connect()));
    const offsets = await Promise.all(
      conns.map(async (c, k) => {
        const got: number[] = [];
        for (let i = 0; i < 15; i++) {
          const ok = await c.request({
            type: 'publish',
            room: 'vod:burst',
            data: { k, i },
            t: k * 1000 + i,
          });
          assert.equal(ok.type, 'ok', JSON.stringify(ok));
          got.push(ok.offset as number);
        }
        return got;
      }),
    );
    const { comments } = await timeline('vod:burst', 'from=0&to=100000&limit=500');
    assert.equal(comments.length, 300);
    const stored = comments.map((c) => Number(c.id.split('.')[1])).sort((a, b) => a - b);
    assert.deepEqual(
      stored,
      offsets.flat().sort((a, b) => a - b),
    );
    for (const c of comments) {
      const { k, i } = c.data as { k: number; i: number };
      assert.equal(c.t, k * 1000 + i);
    }
  });

  it("one connection's publishes share a commit, and their replies keep their order", async () => {
    const author = await fx.connectAs('carol');
    const batches = async () => {
      const stats = await api(fx.server, 'GET', '/api/stats');
      return (stats.body.nodes as { store: { batches: number } }[])[0]!.store.batches;
    };
    const first = await batches();
    // One frame: stored publishes, a refused one (no t) in the middle, then a ping. The stored
    // ones all take their place in the store's queue before the first commits.
    const publish = (id: number, t?: number) =>
      JSON.stringify({ type: 'publish', id, room: 'vod:pipe', data: { n: id }, t });
    author.send(
      [
        publish(1, 1000),
        publish(2, 2000),
        publish(3),
        publish(4, 4000),
        '{"type":"ping","id":5}',
      ].join('\n'),
    );
    await author.next((m) => m.id === 5);
    const replies = author.lines.filter((m) => typeof m.id === 'number' && (m.id as number) <= 5);
    assert.deepEqual(
      replies.map((m) => [m.id, m.type]),
      [
        [1, 'ok'],
        [2, 'ok'],
        [3, 'error'],
        [4, 'ok'],
        [5, 'pong'],
      ],
    );
    const offsets = replies.filter((m) => m.type === 'ok').map((m) => m.offset as number);
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
    );
    assert.equal((await batches()) - first, 1, 'the three comments were committed in one batch');
    const { comments } = await timeline('vod:pipe');
    assert.deepEqual(
      comments.map((c) => c.data),
      [{ n: 1 }, { n: 2 }, { n: 4 }],
    );
  });

  it('refuses a missing or bad t naming the field, and t outside timeline rooms', async () => {
    const c = await fx.connect();
    for (const t of [undefined, -1, 1.5, '10', 48 * 3_600_000 + 1]) {
      const r = await c.request({ type: 'publish', room: 'vod:bad', data: 'x', t });
      assert.equal(r.type, 'error');
      assert.equal(r.code, 'bad_request');
      assert.match(String(r.message), /"t"/, String(r.message));
    }
    const r = await c.request({ type: 'publish', room: 'live:x', data: 'x', t: 5 });
    assert.equal(r.code, 'bad_request');
    const http = await api(fx.server, 'POST', '/api/publish', { room: 'vod:bad', data: 'x' });
    assert.equal(http.status, 400);
    assert.match(JSON.stringify(http.body), /\\"t\\"/);
    assert.equal((await timeline('vod:bad')).comments.length, 0);
  });

  it('reads pages in t order with a next cursor, and refuses bad ranges', async () => {
    for (let i = 0; i < 25; i++) {
      const r = await api(fx.server, 'POST', '/api/publish', {
        room: 'vod:pages',
        data: { n: i },
        t: (25 - i) * 1000,
      });
      assert.equal(r.status, 200);
    }
    const seen: number[] = [];
    let query = 'from=0&to=100000&limit=10';
    for (let page = 0; page < 5; page++) {
      const body = await timeline('vod:pages', query);
      seen.push(...body.comments.map((c) => c.t));
      if (!body.next) break;
      query = `from=0&to=100000&limit=10&after=${encodeURIComponent(body.next)}`;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => (i + 1) * 1000),
    );
    for (const bad of [
      'from=5&to=5',
      'from=10&to=2',
      'from=-1&to=5',
      'from=abc&to=5',
      'from=0&to=1e9',
      'limit=100000',
      'after=zzz',
    ]) {
      const r = await api(fx.server, 'GET', `/api/rooms/vod:pages/timeline?${bad}`);
      assert.equal(r.status, 400, bad);
    }
    const notTimeline = await api(fx.server, 'GET', '/api/rooms/live:x/timeline');
    assert.equal(notTimeline.status, 400);
  });

  it('serves segments with ETag and Cache-Control, 304 on a match, and the density cap', async () => {
    const batch = [];
    for (let i = 0; i < 40; i++) batch.push({ t: 400_000 + i, priority: 'normal' });
    batch.push({ t: 400_500, priority: 'paid' }, { t: 400_501, priority: 'system' });
    for (const [i, b] of batch.entries()) {
      const r = await api(fx.server, 'POST', '/api/publish', {
        room: 'vod:dense',
        data: { text: `<b>${i}</b>` },
        t: b.t,
        priority: b.priority,
      });
      assert.equal(r.status, 200);
    }
    const res = await fetch(`${fx.server.url}/timeline/vod:dense/1`);
    assert.equal(res.status, 200);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    assert.match(res.headers.get('cache-control') ?? '', /public, max-age=\d+/);
    const body = (await res.json()) as { from: number; to: number; comments: Comment[] };
    assert.deepEqual([body.from, body.to], [360_000, 720_000]);
    assert.equal(body.comments.length, 10, 'density 10 a second');
    const kept = body.comments.filter((c) => c.priority === 'paid' || c.priority === 'system');
    assert.equal(kept.length, 2);
    const again = await fetch(`${fx.server.url}/timeline/vod:dense/1`, {
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.status, 304);
    const all = await timeline('vod:dense', 'from=400000&to=401000&limit=1000');
    assert.equal(all.comments.length, 42, 'the API read is not capped');
    for (const bad of ['abc', '-1', '481', '1.5', '99999999']) {
      const r = await fetch(`${fx.server.url}/timeline/vod:dense/${bad}`);
      assert.equal(r.status, 400, bad);
      await r.body?.cancel();
    }
  });

  it('segments check a given token: its rooms claim, and private caching', async () => {
    const token = await signToken('viewer', { rooms: ['vod:other'] });
    const r = await fetch(`${fx.server.url}/timeline/vod:dense/1?token=${token}`);
    assert.equal(r.status, 403);
    const good = await signToken('viewer', { rooms: ['vod:*'] });
    const ok = await fetch(`${fx.server.url}/timeline/vod:dense/1`, {
      headers: { authorization: `Bearer ${good}` },
    });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('cache-control') ?? '', /^private/);
    await ok.body?.cancel();
    await r.body?.cancel();
  });

  it('DELETE removes a comment from every later read', async () => {
    const { comments } = await timeline('vod:pages', 'from=0&to=3000');
    const id = comments[0]!.id;
    const del = await api(fx.server, 'DELETE', `/api/rooms/vod:pages/timeline/${id}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const again = await api(fx.server, 'DELETE', `/api/rooms/vod:pages/timeline/${id}`);
    assert.equal(again.status, 404);
    const after = await timeline('vod:pages', 'from=0&to=3000');
    assert.ok(!after.comments.some((c) => c.id === id));
    const seg = (await (await fetch(`${fx.server.url}/timeline/vod:pages/0`)).json()) as {
      comments: Comment[];
    };
    assert.ok(!seg.comments.some((c) => c.id === id));
  });

  it("never stores a shadow-banned user's comments", async () => {
    const r = await api(fx.server, 'POST', '/api/moderation/shadowban', {
      userId: 'troll',
      room: 'vod:shadow',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const troll = await fx.connectAs('troll');
    const ok = await troll.request({ type: 'publish', room: 'vod:shadow', data: 'spam', t: 1 });
    assert.equal(ok.type, 'ok');
    const fine = await fx.connectAs('fine');
    await fine.request({ type: 'publish', room: 'vod:shadow', data: 'hello', t: 2 });
    const { comments } = await timeline('vod:shadow');
    assert.deepEqual(
      comments.map((c) => c.data),
      ['hello'],
    );
  });

  it('stored chat rooms page back beyond the in-memory history', async () => {
    const c = await fx.connect();
    for (let i = 1; i <= 20; i++) {
      const r = await c.request({ type: 'publish', room: 'chat:hist', data: { n: i } });
      assert.equal(r.type, 'ok');
    }
    const more = await fx.connect();
    const joined = await more.request({ type: 'join', room: 'chat:hist', history: 12 });
    const nums = (joined.messages as { data: { n: number } }[]).map((m) => m.data.n);
    assert.deepEqual(nums, [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const older = await fx.connect();
    const page = await older.request({ type: 'join', room: 'chat:hist', history: 3, before: 8 });
    assert.deepEqual(
      (page.messages as { offset: number }[]).map((m) => m.offset),
      [5, 6, 7],
    );
    const http = await api(fx.server, 'GET', '/api/rooms/chat:hist/messages?before=8&limit=3');
    assert.equal(http.status, 200, JSON.stringify(http.body));
    const body = http.body as { messages: { offset: number }[]; next: { before: number } };
    assert.deepEqual(
      body.messages.map((m) => m.offset),
      [5, 6, 7],
    );
    assert.equal(body.next.before, 5);
    const bad = await api(fx.server, 'GET', '/api/rooms/live:x/messages');
    assert.equal(bad.status, 400);
  });

  it('DPlayer v3: posts at a time, reads back escaped text, refuses bad input', async () => {
    const post = await api(fx.server, 'POST', '/dplayer/v3/', {
      id: 'dp1',
      author: 'Ann<i>',
      time: 12.5,
      text: '<img src=x onerror=alert(1)>\u0007hi',
      color: 16711680,
      type: 1,
    });
    assert.equal(post.status, 200, JSON.stringify(post.body));
    assert.equal(post.body.code, 0);
    const read = await api(fx.server, 'GET', '/dplayer/v3/?id=dp1&max=100');
    assert.deepEqual(read.body, {
      code: 0,
      data: [[12.5, 1, 16711680, 'Ann&lt;i&gt;', '&lt;img src=x onerror=alert(1)&gt;hi']],
    });
    const badId = await api(fx.server, 'GET', '/dplayer/v3/?id=../x');
    assert.equal(badId.status, 400);
    assert.equal(badId.body.code, 1);
    const badTime = await api(fx.server, 'POST', '/dplayer/v3/', {
      id: 'dp1',
      time: -3,
      text: 'x',
    });
    assert.equal(badTime.status, 400);
  });

  it('CORS: a player page of an allowed origin reads segments and DPlayer GET; others are refused', async () => {
    const page = 'https://player.example';
    const segment = await fetch(`${fx.server.url}/timeline/vod:a/0`, { headers: { origin: page } });
    assert.equal(segment.status, 200);
    assert.equal(segment.headers.get('access-control-allow-origin'), page);
    assert.match(segment.headers.get('vary') ?? '', /Origin/);
    assert.match(segment.headers.get('access-control-expose-headers') ?? '', /ETag/i);
    const preflight = await fetch(`${fx.server.url}/timeline/vod:a/0`, {
      method: 'OPTIONS',
      headers: {
        origin: page,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), page);
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization');
    const dplayer = await fetch(`${fx.server.url}/dplayer/v3/?id=dp1`, {
      headers: { origin: page },
    });
    assert.equal(dplayer.status, 200);
    assert.equal(dplayer.headers.get('access-control-allow-origin'), page);
    const foreign = await fetch(`${fx.server.url}/timeline/vod:a/0`, {
      headers: { origin: 'https://elsewhere.example' },
    });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    // Writes get no CORS: another site's page must not post through its visitors' browsers.
    const post = await fetch(`${fx.server.url}/dplayer/v3/`, {
      method: 'POST',
      headers: { origin: page, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'dp1', time: 1, text: 'x' }),
    });
    assert.equal(post.headers.get('access-control-allow-origin'), null);
  });

  it('DPlayer v3: an unexpected error is logged with its request id, counted, answered 500', async () => {
    const res = await fetch(`${fx.server.url}/dplayer/v3/?id=bug`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { code: number; msg: string };
    assert.equal(body.code, 1);
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId);
    assert.equal(body.msg, `internal error (request id ${requestId})`);
    const line = logged.find((l) => l.fields.requestId === requestId);
    assert.ok(line, 'logged with the request id');
    assert.equal(line.level, 'error');
    assert.match((line.fields.err as Error).message, /hook bug/);
    assert.equal(line.fields.path, '/dplayer/v3/');
    const metrics = await (await fetch(`${fx.server.url}/metrics`)).text();
    assert.match(metrics, /barrage_errors_total\{[^}]*code="internal"[^}]*\} 1\n/);
  });

  it('/healthz and /api/stats report the store', async () => {
    const health = await api(fx.server, 'GET', '/healthz');
    assert.deepEqual((health.body as { store: unknown }).store, {
      kind: 'sqlite',
      ok: true,
      queueDepth: 0,
    });
    const stats = await api(fx.server, 'GET', '/api/stats');
    const store = (stats.body.nodes as { store: Record<string, number> }[])[0]!.store;
    assert.ok(store.written! > 0);
    assert.ok(store.batches! > 0);
    const metrics = await (await fetch(`${fx.server.url}/metrics`)).text();
    assert.match(metrics, /^barrage_store_written_total\{[^}]*\} [1-9]/m);
  });
});
