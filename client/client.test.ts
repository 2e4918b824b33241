import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { startServer, waitFor, wsUrl } from '../test/e2e/support/server.js';
import {
  type BarrageClient,
  BarrageError,
  type ClientOptions,
  connect,
  createClient,
  type RoomMessage,
} from './index.js';

const base: ClientOptions = { WebSocket, requestTimeoutMs: 5000 };

describe('BarrageClient against a real server', () => {
  let server: BarrageServer;
  const clients: BarrageClient[] = [];
  const open = async (options: ClientOptions = {}) => {
    const c = await connect(wsUrl(server), { ...base, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    // Fixed merge windows, so that merged frames happen even at this test's low rate.
    server = await startServer({
      publishRate: 5,
      publishBurst: 5,
      heartbeatMs: 500,
      roomPolicies: ['live:*=50/lossy/fixed'],
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });

  it('joins, publishes and receives in offset order', async () => {
    const a = await open();
    const b = await open();
    const subA = await a.join('chat:basic');
    const got: RoomMessage[] = [];
    subA.on('message', (m) => got.push(m));
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) offsets.push(await b.publish('chat:basic', { text: `m${i}` }));
    assert.deepEqual(offsets, [offsets[0]!, offsets[0]! + 1, offsets[0]! + 2]);
    await waitFor(() => got.length === 3, 5000, 'three messages');
    assert.deepEqual(
      got.map((m) => m.offset),
      offsets,
    );
    assert.deepEqual(got[2]!.data, { text: 'm2' });
    assert.equal(got[0]!.room, 'chat:basic');
    assert.equal(typeof got[0]!.ts, 'number');
  });

  it('delivers history first, then live messages, to a late listener', async () => {
    const a = await open();
    for (let i = 0; i < 4; i++) await a.publish('chat:history', i);
    const b = await open();
    const sub = await b.join('chat:history', { history: 3 });
    await a.publish('chat:history', 4);
    await new Promise((r) => setTimeout(r, 100)); // the live one arrives before a listener exists
    const got: unknown[] = [];
    sub.on('message', (m) => got.push(m.data));
    await waitFor(() => got.length === 4, 5000, 'history and live');
    assert.deepEqual(got, [1, 2, 3, 4]);
  });

  it('splits merged frames of a live:* room (fixed 50 ms windows) and loses nothing', async () => {
    let merged = 0;
    // A real `ws` socket that also counts the frames holding more than one line.
    class CountingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        this.on('message', (data) => {
          if (String(data).includes('\n')) merged++;
        });
      }
    }
    const a = await open({ WebSocket: CountingWebSocket });
    const b = await open();
    const sub = await a.join('live:merge');
    const got: RoomMessage[] = [];
    sub.on('message', (m) => got.push(m));
    await Promise.all([0, 1, 2, 3, 4].map((i) => b.publish('live:merge', i)));
    await waitFor(() => got.length === 5, 5000, 'five merged messages');
    assert.ok(merged >= 1, 'the server merged lines into one frame');
    assert.deepEqual(
      got.map((m) => m.data),
      [0, 1, 2, 3, 4],
    );
    const offsets = got.map((m) => m.offset);
    assert.ok(offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1));
  });

  it('resumes from a saved position with join({ since })', async () => {
    const a = await open();
    const b = await open();
    const first = await a.join('chat:resume');
    const seen: unknown[] = [];
    first.on('message', (m) => seen.push(m.data));
    await b.publish('chat:resume', 'one');
    await waitFor(() => seen.length === 1, 5000, 'first message');
    const saved = first.position();
    a.close(); // e.g. the page reloads; it kept `saved` in storage
    for (const text of ['two', 'three']) await b.publish('chat:resume', text);
    const c = await open();
    const again = await c.join('chat:resume', { since: saved });
    const got: unknown[] = [];
    again.on('message', (m) => got.push(m.data));
    await waitFor(() => got.length === 2, 5000, 'missed messages');
    assert.equal(again.recovered, true);
    assert.deepEqual(got, ['two', 'three']);
    const stale = await (await open()).join('chat:resume', { since: { offset: 1, epoch: 'gone' } });
    assert.equal(stale.recovered, false, 'an unknown epoch cannot be recovered');
  });

  it('tracks the online count through joined and presence', async () => {
    const a = await open();
    const sub = await a.join('chat:presence');
    assert.equal(sub.online, 1);
    const b = await open();
    await b.join('chat:presence');
    await waitFor(() => sub.online === 2, 5000, 'online 2');
    b.close();
    await waitFor(() => sub.online === 1, 5000, 'online back to 1');
  });

  it('raises typed errors carrying the server code', async () => {
    const a = await open();
    await assert.rejects(a.publish('bad room name!', 1), (err: unknown) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'bad_request');
      return true;
    });
    // Too little time to wait out the publish rate (5/s): the refusal comes with its wait.
    const hasty = await open({ requestTimeoutMs: 150 });
    const errors: BarrageError[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        hasty.publish('chat:limit', i).catch((err: BarrageError) => errors.push(err)),
      ),
    );
    assert.ok(errors.length >= 5, `expected rate limiting, got ${errors.length} errors`);
    assert.ok(errors.every((e) => e.code === 'rate_limited'));
    assert.ok(errors.every((e) => Number(e.retryAfterMs) > 0 && Number(e.retryAfterMs) <= 200));
  });

  it('honours rate_limited retryAfterMs: publishes over the rate wait, then all succeed', async () => {
    const a = await open();
    const sub = await a.join('chat:paced');
    const got: number[] = [];
    sub.on('message', (m) => got.push(m.data as number));
    // Burst 5 at 5/s: the last 4 are refused first, then sent again when the server says.
    const offsets = await Promise.all(
      Array.from({ length: 9 }, (_, i) => a.publish('chat:paced', i)),
    );
    assert.equal(new Set(offsets).size, 9);
    await waitFor(() => got.length === 9, 5000, 'nine messages');
    assert.deepEqual([...got].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('answers server pings, so an idle connection stays up over many heartbeats', async () => {
    const a = await open();
    await new Promise((r) => setTimeout(r, 2000)); // 4 heartbeats of 500 ms
    assert.equal(a.state, 'open');
    assert.equal(a.connections, 1);
    assert.ok((await a.ping()) >= 0);
  });

  it('leaves a room: no more messages, not rejoined', async () => {
    const a = await open();
    const b = await open();
    const sub = await a.join('chat:leave');
    let count = 0;
    sub.on('message', () => count++);
    await sub.leave();
    assert.equal(sub.active, false);
    assert.deepEqual(a.rooms(), []);
    // b, still a member, witnesses the delivery: the batch reached every member's socket by
    // then, and a's pong is written after anything the server sent a before it.
    const witness = await b.join('chat:leave');
    const delivered = new Promise<void>((resolve) => witness.on('message', () => resolve()));
    await b.publish('chat:leave', 1);
    await delivered;
    await a.ping();
    assert.equal(count, 0);
  });

  it('needs a WebSocket constructor in Node 20 for WebSocket, and fails requests once closed', async () => {
    assert.throws(() => createClient(wsUrl(server), { transports: ['websocket'] }), TypeError);
    // Without one, the default transports leave Server-Sent Events (fetch) alone.
    const sseOnly = createClient(wsUrl(server));
    assert.equal(sseOnly.transport, 'sse');
    sseOnly.close();
    const a = await open();
    a.close();
    assert.equal(a.state, 'closed');
    await assert.rejects(a.publish('chat:x', 1), (err: BarrageError) => err.code === 'closed');
  });
});

describe('render budgets and message classes', () => {
  let server: BarrageServer;
  const clients: BarrageClient[] = [];
  before(async () => {
    server = await startServer({ publishRate: 10_000, publishBurst: 10_000, commandRate: 10_000 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  const open = async () => {
    const c = await connect(wsUrl(server), base);
    clients.push(c);
    return c;
  };

  it('gets a fair sample within its budget and a count of what was left out', async () => {
    const [full, budgeted, publisher] = [await open(), await open(), await open()];
    const all = await full.join('live:budget');
    const some = await budgeted.join('live:budget', { budget: 20 });
    assert.equal(some.budget, 20);
    let allCount = 0;
    let someCount = 0;
    all.on('message', () => allCount++);
    some.on('message', () => someCount++);
    const notices: number[] = [];
    some.on('skipped', (n) => notices.push(n));
    const total = 300;
    for (let i = 0; i < total; i++) {
      void publisher.publish('live:budget', i); // ~200 a second, ten times the budget
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => allCount === total && someCount + some.skipped === total, 10_000, 'all');
    assert.ok(someCount < total / 2, `the budgeted client got ${someCount} of ${total}`);
    assert.ok(notices.length > 0 && notices.every((n) => n > 0));
    assert.equal(
      notices.reduce((a, b) => a + b, 0),
      some.skipped,
    );
  });

  it('publishes with a class only when allowed, and marks classed messages', async () => {
    const [viewer, anon] = [await open(), await open()];
    const sub = await viewer.join('chat:classes');
    const got: RoomMessage[] = [];
    sub.on('message', (m) => got.push(m));
    await assert.rejects(
      anon.publish('chat:classes', 'x', { priority: 'paid' }),
      (err: BarrageError) => {
        assert.equal(err.code, 'forbidden');
        return true;
      },
    );
    await anon.publish('chat:classes', 'plain', { priority: 'normal' });
    // The HTTP API (trusted, loopback here) may publish any class.
    const res = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'chat:classes', data: 'super chat', priority: 'paid' }),
    });
    assert.equal(res.status, 200);
    await waitFor(() => got.length === 2, 5000, 'two messages');
    assert.deepEqual(
      got.map((m) => [m.data, m.priority]),
      [
        ['plain', undefined],
        ['super chat', 'paid'],
      ],
    );
  });
});
