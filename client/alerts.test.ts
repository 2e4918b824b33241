/**
 * The SDK's alerts against a real Barrage with the embedded store (docs/alerts.md): stored
 * pushes through the HTTP API, two devices of one user, acks, redelivery after a cut connection,
 * collapse and the inbox. The frame-level cases (a redelivery in the auth reply's frame, ack
 * batching) are in alerts-peer.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { startServer, TcpProxy, waitFor, wsUrl } from '../test/e2e/support/server.js';
import { signToken, TEST_SECRET } from '../test/support/tokens.js';
import {
  type Alert,
  BarrageError,
  type ClientOptions,
  connect,
  type WithdrawnEvent,
} from './index.js';

const base: ClientOptions = {
  WebSocket,
  requestTimeoutMs: 5000,
  backoff: { initialMs: 20, maxMs: 200 },
};

describe('alerts against a real server (embedded store)', () => {
  let server: BarrageServer;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-sdk-'));
  const cleanup: Array<() => unknown> = [];

  before(async () => {
    server = await startServer({ store: 'embedded', dataDir: dir, jwtSecret: TEST_SECRET });
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client signed in as `user` (through `port`, e.g. a proxy, when given). */
  const device = async (user: string, options: ClientOptions = {}, port = server.port) => {
    const c = await connect(wsUrl(port), { ...base, token: await signToken(user), ...options });
    cleanup.push(() => c.close());
    return c;
  };

  /** POST /api/push with persist; returns the answer. */
  const store = async (userId: string, fields: Record<string, unknown> = {}) => {
    const res = await fetch(`${server.url}/api/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, event: 'order', data: { n: 1 }, persist: true, ...fields }),
    });
    const body = (await res.json()) as { alert: string; delivered: number; stored: boolean };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  };

  it('delivers a stored push as an alert on both devices; an ack reads it on both', async () => {
    const phone = await device('alice');
    const laptop = await device('alice');
    const got: Record<string, Alert[]> = { phone: [], laptop: [] };
    const read: Record<string, string[]> = { phone: [], laptop: [] };
    const pushes: unknown[] = [];
    for (const [name, c] of [
      ['phone', phone],
      ['laptop', laptop],
    ] as const) {
      c.on('alert', (a) => got[name]!.push(a));
      c.on('read', (r) => read[name]!.push(...r.alerts));
      c.on('push', (p) => pushes.push(p));
    }
    const { alert, delivered } = await store('alice', { data: { text: 'shipped' } });
    assert.equal(delivered, 2);
    await waitFor(() => got.phone!.length === 1 && got.laptop!.length === 1, 5000, 'two alerts');
    const a = got.phone![0]!;
    assert.equal(a.id, alert);
    assert.equal(a.event, 'order');
    assert.deepEqual(a.data, { text: 'shipped' });
    assert.equal(typeof a.ts, 'number');
    assert.deepEqual(pushes, [], 'a stored push is an alert, not a push');
    assert.equal((await phone.inbox({ unread: true })).unread, 1);
    await a.ack();
    await waitFor(() => read.laptop!.includes(alert), 5000, 'read on the other device');
    await waitFor(() => read.phone!.includes(alert), 5000, 'read on the acking device too');
    const inbox = await laptop.inbox();
    assert.equal(inbox.userId, 'alice');
    assert.equal(inbox.unread, 0);
    assert.deepEqual(
      inbox.alerts.map((x) => [x.id, x.read]),
      [[alert, true]],
    );
  });

  it('shows an unacknowledged alert once although the server sends it again after a reconnect', async () => {
    const proxy = await TcpProxy.start(server.port);
    cleanup.push(() => proxy.close());
    let lines = 0;
    /** A real socket that also counts the alert lines the server sends. */
    class CountingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        this.on('message', (data) => {
          lines += String(data).split('"alert":"').length - 1;
        });
      }
    }
    const c = await device('bob', { WebSocket: CountingWebSocket }, proxy.port);
    const got: string[] = [];
    c.on('alert', (a) => got.push(a.id));
    const { alert } = await store('bob');
    await waitFor(() => got.length === 1, 5000, 'the alert');
    let opens = 0;
    c.on('open', () => opens++);
    proxy.cut();
    await waitFor(() => opens === 1 && lines >= 2, 5000, 'a reconnect and the redelivery');
    await c.ping(); // anything the redelivery would have caused has been read by now
    assert.deepEqual(got, [alert], 'emitted once');
  });

  it('redelivers alerts stored while the user was offline, oldest first, to the first listener', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await store('carol', { data: { n } })).alert);
    const c = await device('carol');
    const got: Alert[] = [];
    c.on('alert', (a) => got.push(a));
    await waitFor(() => got.length === 3, 5000, 'three redelivered alerts');
    assert.deepEqual(
      got.map((a) => a.id),
      ids,
    );
    assert.deepEqual(
      got.map((a) => a.data),
      [{ n: 0 }, { n: 1 }, { n: 2 }],
    );
  });

  it('autoAck acknowledges what the listeners got; client.ack takes many ids', async () => {
    const auto = await device('dave', { autoAck: true });
    const other = await device('dave');
    auto.on('alert', () => {});
    const read: string[] = [];
    other.on('read', (r) => read.push(...r.alerts));
    const { alert } = await store('dave');
    await waitFor(() => read.includes(alert), 5000, 'read after the automatic ack');
    // 120 stored alerts: acknowledged in one call (two ack lines, 100 ids each at most).
    const many: string[] = [];
    for (let n = 0; n < 120; n++) many.push((await store('erin', { data: { n } })).alert);
    const erin = await device('erin');
    const before = await erin.inbox({ unread: true, limit: 1000 });
    assert.equal(before.unread, 120);
    await erin.ack(before.alerts.map((a) => a.id));
    const afterAck = await erin.inbox({ unread: true });
    assert.equal(afterAck.unread, 0);
    assert.deepEqual(afterAck.alerts, []);
  });

  it('withdraws a collapsed alert and delivers the one that replaced it', async () => {
    const c = await device('frank');
    const got: string[] = [];
    const withdrawn: WithdrawnEvent[] = [];
    c.on('alert', (a) => got.push(a.id));
    c.on('withdrawn', (w) => withdrawn.push(w));
    const first = await store('frank', { collapseKey: 'score' });
    const second = await store('frank', { collapseKey: 'score' });
    await waitFor(() => got.length === 2 && withdrawn.length === 1, 5000, 'the collapse');
    assert.deepEqual(got, [first.alert, second.alert]);
    assert.deepEqual(withdrawn[0], {
      alerts: [first.alert],
      reason: 'collapsed',
      replacedBy: second.alert,
    });
    const inbox = await c.inbox({ unread: true });
    assert.deepEqual(
      inbox.alerts.map((a) => a.id),
      [second.alert],
    );
  });

  it('refuses the inbox to an anonymous connection', async () => {
    const anon = await connect(wsUrl(server), base);
    cleanup.push(() => anon.close());
    await assert.rejects(anon.inbox(), (err: BarrageError) => {
      assert.ok(err instanceof BarrageError);
      assert.equal(err.code, 'unauthorized');
      return true;
    });
  });
});

describe('alerts over the SSE fallback', () => {
  /** A `ws` WebSocket whose upgrades the server refuses (an Origin outside its allowlist). */
  class BlockedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin: 'https://blocked.example' });
    }
  }

  it('receives alerts once a room is joined and acks them by POST; inbox is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-sse-'));
    const server = await startServer({
      store: 'embedded',
      dataDir: dir,
      jwtSecret: TEST_SECRET,
      origins: ['https://app.example'],
    });
    const push = (data: number) =>
      fetch(`${server.url}/api/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'sam', event: 'e', data, persist: true }),
      }).then((r) => r.json() as Promise<{ alert: string }>);
    const c = await connect(wsUrl(server), {
      ...base,
      WebSocket: BlockedWebSocket,
      token: await signToken('sam'),
      autoAck: true,
    });
    try {
      assert.equal(c.transport, 'sse');
      const errors: BarrageError[] = [];
      c.on('error', (e) => errors.push(e));
      const got: unknown[] = [];
      const read: string[] = [];
      c.on('alert', (a) => got.push(a.data));
      c.on('read', (r) => read.push(...r.alerts));
      const first = await push(1); // stored while no stream is open: redelivered when it opens
      await c.join('chat:sse-alerts');
      await waitFor(() => got.length === 1, 5000, 'the redelivered alert');
      const second = await push(2);
      await waitFor(() => got.length === 2, 5000, 'the live alert');
      assert.deepEqual(got, [1, 2]);
      // autoAck acknowledged both through POST /sse/ack: the stream is told they were read.
      await waitFor(() => read.length === 2, 5000, 'both read');
      assert.deepEqual(read.sort(), [first.alert, second.alert].sort());
      const inbox = await fetch(`${server.url}/api/users/sam/alerts?unread=1`);
      assert.equal(((await inbox.json()) as { unread: number }).unread, 0);
      await c.ack(second.alert); // already read: not an error
      await assert.rejects(c.inbox(), (err: BarrageError) => err.code === 'bad_request');
      assert.deepEqual(errors, []);
    } finally {
      c.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alerts: the resync hint when the inbox cap drops unread alerts', () => {
  it('fires resync once for a drop, not again when the next connection is told again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-cap-'));
    const server = await startServer({
      store: 'embedded',
      dataDir: dir,
      jwtSecret: TEST_SECRET,
      alertInboxSize: 2,
    });
    const proxy = await TcpProxy.start(server.port);
    const c = await connect(wsUrl(proxy.port), { ...base, token: await signToken('gina') });
    try {
      const resyncs: { count: number; ts: number }[] = [];
      let droppedLines = 0;
      c.on('resync', (r) => resyncs.push(r));
      c.on('alert', () => {});
      const push = () =>
        fetch(`${server.url}/api/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: 'gina', event: 'e', data: 1, persist: true }),
        }).then((r) => r.json());
      for (let i = 0; i < 3; i++) await push(); // the third pushes the oldest unread one out
      await waitFor(() => resyncs.length === 1, 5000, 'the resync hint');
      assert.equal(resyncs[0]!.count, 1);
      const inbox = await c.inbox();
      assert.equal(inbox.dropped, 1);
      assert.equal(inbox.droppedAt, resyncs[0]!.ts);
      // The next authentication repeats the `dropped` line (same ts): no second resync.
      const raw = new WebSocket(`${wsUrl(server)}?token=${await signToken('gina')}`);
      raw.on('message', (d) => {
        if (String(d).includes('"type":"dropped"')) droppedLines++;
      });
      await waitFor(() => droppedLines === 1, 5000, 'the server repeating the drop');
      raw.close();
      let opens = 0;
      c.on('open', () => opens++);
      proxy.cut();
      await waitFor(() => opens === 1, 5000, 'a reconnect');
      await c.ping();
      assert.equal(resyncs.length, 1);
    } finally {
      c.close();
      await proxy.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
