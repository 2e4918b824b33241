import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { freePort, startServer, TcpProxy, waitFor, wsUrl } from '../test/e2e/support/server.js';
import {
  type BarrageClient,
  type ClientEvents,
  type ClientOptions,
  connect,
  createClient,
  type RejoinEvent,
} from './index.js';

const base: ClientOptions = {
  WebSocket,
  requestTimeoutMs: 5000,
  backoff: { initialMs: 50, maxMs: 400 },
};

describe('reconnect and recovery', () => {
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });
  const track = (c: BarrageClient) => {
    cleanup.push(() => c.close());
    return c;
  };

  it('reconnects after the server restarts on the same port and says recovery failed', async () => {
    const first = await startServer();
    const port = first.port;
    const client = track(await connect(wsUrl(port), base));
    const sub = await client.join('chat:restart');
    const got: unknown[] = [];
    sub.on('message', (m) => got.push(m.data));
    const rejoins: RejoinEvent[] = [];
    sub.on('rejoin', (e) => rejoins.push(e));
    const closes: ClientEvents['close'][] = [];
    client.on('close', (e) => closes.push(e));
    await client.publish('chat:restart', 'before');
    await waitFor(() => got.length === 1, 5000, 'first message');

    await first.close();
    await waitFor(() => client.state !== 'open', 5000, 'client to notice the shutdown');
    const second: BarrageServer = await startServer({ port });
    cleanup.push(() => second.close());
    await waitFor(() => client.state === 'open' && rejoins.length === 1, 10_000, 'reconnect');

    assert.equal(closes[0]?.code, 1001);
    assert.equal(closes[0]?.willReconnect, true);
    assert.equal(client.connections >= 2, true);
    // A new server holds a new history (new epoch): the app is told it missed what it missed.
    assert.equal(rejoins[0]!.recovered, false);
    const other = track(await connect(wsUrl(port), base));
    await other.publish('chat:restart', 'after');
    await waitFor(() => got.length === 2, 5000, 'message after restart');
    assert.deepEqual(got, ['before', 'after']);
  });

  it('recovers every missed message, in order and without duplicates, after a cut', async () => {
    const server = await startServer({ publishRate: 1000, publishBurst: 1000 });
    cleanup.push(() => server.close());
    const proxy = await TcpProxy.start(server.port);
    cleanup.push(() => proxy.close());
    const viewer = track(await connect(wsUrl(proxy.port), base));
    const publisher = track(await connect(wsUrl(server), base));
    const sub = await viewer.join('chat:recover');
    const offsets: number[] = [];
    sub.on('message', (m) => offsets.push(m.offset));
    const rejoins: RejoinEvent[] = [];
    sub.on('rejoin', (e) => rejoins.push(e));

    const published: number[] = [];
    for (let i = 0; i < 60; i++) {
      if (i === 20) proxy.cut(); // the viewer drops; the server keeps the room's history
      published.push(await publisher.publish('chat:recover', i));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 15));
    }
    await waitFor(() => offsets.length >= published.length, 10_000, 'all messages');
    await new Promise((r) => setTimeout(r, 100)); // any duplicate would arrive by now
    assert.deepEqual(offsets, published);
    assert.equal(rejoins.length, 1);
    assert.equal(rejoins[0]!.recovered, true);
    assert.ok(rejoins[0]!.delivered > 0, 'some messages came through recovery');
    assert.equal(viewer.connections, 2);
  });

  it('treats a silent server as dead after 2 x heartbeat and reconnects', async () => {
    const server = await startServer({ heartbeatMs: 500 });
    cleanup.push(() => server.close());
    const proxy = await TcpProxy.start(server.port);
    cleanup.push(() => proxy.close());
    const client = track(await connect(wsUrl(proxy.port), base));
    assert.equal(client.heartbeatMs, 500);
    const closes: Array<{ code: number; at: number }> = [];
    client.on('close', (e) => closes.push({ code: e.code, at: Date.now() }));
    await client.join('chat:dead');
    const frozenAt = Date.now();
    proxy.freeze();
    await waitFor(() => closes.length > 0, 5000, 'dead-server detection');
    const silentFor = closes[0]!.at - frozenAt;
    assert.equal(closes[0]!.code, 4000);
    assert.ok(silentFor >= 900 && silentFor < 5000, `detected after ${silentFor} ms`);
    proxy.thaw();
    await waitFor(() => client.state === 'open' && client.connections >= 2, 10_000, 'reconnect');
    assert.deepEqual(client.rooms(), ['chat:dead']);
  });

  it('backs off exponentially with jitter while the server is down, then connects', async () => {
    const port = await freePort();
    const client = track(
      createClient(wsUrl(port), { ...base, backoff: { initialMs: 40, maxMs: 320, factor: 2 } }),
    );
    const delays: number[] = [];
    client.on('close', (e) => delays.push(e.delayMs));
    await waitFor(() => delays.length >= 6, 10_000, 'six failed attempts');
    delays.slice(0, 6).forEach((d, attempt) => {
      const nominal = Math.min(320, 40 * 2 ** attempt);
      assert.ok(d >= nominal / 2 && d <= nominal, `attempt ${attempt}: ${d} ms`);
    });
    const server = await startServer({ port });
    cleanup.push(() => server.close());
    await client.ready(5000);
    assert.equal(client.state, 'open');
  });

  it('waits at least as long as the server asks (close reason or error retryAfterMs)', async () => {
    // Barrage refuses an overloaded upgrade with HTTP 503 + Retry-After, which browsers cannot
    // read; these hints come in a close reason or an error frame. A scripted peer on a real
    // socket sends them: the first connection gets a close reason, the second an error frame.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    const connectedAt: number[] = [];
    wss.on('connection', (socket) => {
      connectedAt.push(Date.now());
      socket.send('{"type":"welcome","connId":"c","heartbeat":25000}');
      if (connectedAt.length === 1) socket.close(1013, 'overloaded; retry after 600');
      else if (connectedAt.length === 2) {
        socket.send(
          '{"type":"error","code":"unavailable","message":"draining","retryAfterMs":700}',
        );
        socket.close(1011, 'draining');
      }
    });
    const port = (wss.address() as { port: number }).port;
    const client = track(
      createClient(wsUrl(port), { ...base, backoff: { initialMs: 20, maxMs: 100 } }),
    );
    const closes: ClientEvents['close'][] = [];
    client.on('close', (e) => closes.push(e));
    await waitFor(
      () => connectedAt.length === 3 && client.state === 'open',
      10_000,
      'third connection',
    );
    assert.equal(closes[0]!.code, 1013);
    assert.ok(closes[0]!.delayMs >= 600, `asked 600 ms, waited ${closes[0]!.delayMs}`);
    assert.ok(closes[1]!.delayMs >= 700, `asked 700 ms, waited ${closes[1]!.delayMs}`);
    assert.ok(
      connectedAt[1]! - connectedAt[0]! >= 550,
      'the second try came after the asked delay',
    );
    assert.ok(connectedAt[2]! - connectedAt[1]! >= 650, 'the third try came after the asked delay');
  });

  it('applies a joined reply before the live lines that share its frame', async () => {
    // Servers may merge a reply and the next messages into one frame (or one socket read); a
    // scripted peer on a real socket does exactly that, for a first join and for a rejoin.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    const line = (o: number) =>
      JSON.stringify({ type: 'message', room: 'r', offset: o, data: o, ts: 0, from: null });
    const joins: unknown[] = [];
    wss.on('connection', (socket) => {
      socket.send('{"type":"welcome","connId":"c","heartbeat":25000}');
      socket.on('message', (raw) => {
        const cmd = JSON.parse(String(raw)) as { type: string; id: number; since?: unknown };
        if (cmd.type !== 'join') return;
        const { id: _id, ...rest } = cmd;
        joins.push(rest);
        const rejoin = cmd.since !== undefined;
        const joined = JSON.stringify({
          type: 'joined',
          id: cmd.id,
          room: 'r',
          online: 1,
          offset: rejoin ? 3 : 0,
          epoch: 'e1',
          recovered: true,
          messages: rejoin ? [2, 3].map((o) => JSON.parse(line(o))) : [],
        });
        socket.send(`${joined}\n${line(rejoin ? 4 : 1)}`);
        if (!rejoin) setTimeout(() => socket.terminate(), 50);
      });
    });
    const port = (wss.address() as { port: number }).port;
    const client = track(await connect(wsUrl(port), base));
    const sub = await client.join('r', { budget: 5 });
    const got: number[] = [];
    sub.on('message', (m) => got.push(m.offset));
    await waitFor(() => got.length === 4, 5000, 'four messages');
    assert.deepEqual(got, [1, 2, 3, 4]);
    // The rejoin resumes from the last offset and keeps the render budget.
    assert.deepEqual(joins, [
      { type: 'join', room: 'r', budget: 5 },
      { type: 'join', room: 'r', since: { offset: 1, epoch: 'e1' }, budget: 5 },
    ]);
  });
});
