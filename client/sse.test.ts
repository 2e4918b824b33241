import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { BarrageServer } from '../src/server/index.js';
import { startServer, TcpProxy, waitFor, wsUrl } from '../test/e2e/support/server.js';
import { signToken, TEST_SECRET } from '../test/support/tokens.js';
import {
  type BarrageClient,
  BarrageError,
  type ClientOptions,
  connect,
  type RoomMessage,
} from './index.js';

/** A `ws` WebSocket whose upgrades the server refuses (an Origin outside its allowlist). */
class BlockedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { origin: 'https://blocked.example' });
  }
}

const blocked: ClientOptions = { WebSocket: BlockedWebSocket, requestTimeoutMs: 5000 };
const direct: ClientOptions = { WebSocket, requestTimeoutMs: 5000, transports: ['websocket'] };

describe('SSE fallback against a real server', () => {
  let server: BarrageServer;
  const clients: BarrageClient[] = [];
  const cleanup: (() => Promise<void> | void)[] = [];
  const track = (c: BarrageClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    // Publishing needs a user once a secret is set: every client here is `tester` but alice.
    const token = await signToken('tester');
    blocked.token = token;
    direct.token = token;
    server = await startServer({
      origins: ['https://app.example'],
      jwtSecret: TEST_SECRET,
      historySize: 20,
      heartbeatMs: 500,
      publishRate: 50,
      publishBurst: 50,
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const f of cleanup) await f();
    await server.close();
  });

  it('falls back to SSE when the WebSocket upgrade is refused, and says so', async () => {
    const transports: string[] = [];
    const client = track(await connect(wsUrl(server), blocked));
    client.on('transport', (t) => transports.push(t));
    assert.equal(client.transport, 'sse');
    assert.equal(client.state, 'open');
    // With the WebSocket only, the same refusal is an error naming the HTTP status.
    await assert.rejects(
      connect(wsUrl(server), { ...blocked, transports: ['websocket'] }),
      (err: unknown) => err instanceof BarrageError && /HTTP 403/.test(err.message),
    );
  });

  it('joins with history, receives live messages, and publishes through POST', async () => {
    const ws = track(await connect(wsUrl(server), direct));
    await ws.publish('chat:sse-a', 'old-1');
    await ws.publish('chat:sse-a', 'old-2');
    const sse = track(await connect(wsUrl(server), blocked));
    assert.equal(sse.transport, 'sse');
    const sub = await sse.join('chat:sse-a', { history: 5 });
    const got: RoomMessage[] = [];
    sub.on('message', (m) => got.push(m));
    await waitFor(() => got.length === 2, 5000, 'history');
    const offset = await sse.publish('chat:sse-a', { text: 'via POST' });
    await waitFor(() => got.length === 3, 5000, 'own message');
    assert.deepEqual(
      got.map((m) => m.data),
      ['old-1', 'old-2', { text: 'via POST' }],
    );
    assert.equal(got[2]!.offset, offset);
    // And the WebSocket client sees the POSTed message too.
    const wsSub = await ws.join('chat:sse-a');
    const seen: unknown[] = [];
    wsSub.on('message', (m) => seen.push(m.data));
    await sse.publish('chat:sse-a', 'second');
    await waitFor(() => seen.includes('second'), 5000, 'WebSocket member sees the POST');
  });

  it('asks the stream for the render budget given to join, and counts what the server skipped', async () => {
    // The publisher is another user: a member's own lines come back even when sampled out.
    const ws = track(await connect(wsUrl(server), { ...direct, token: await signToken('bob') }));
    const sse = track(await connect(wsUrl(server), blocked));
    const sub = await sse.join('live:sse-budget', { budget: 1 });
    let shown = 0;
    sub.on('message', () => shown++);
    // A burst far above 1 a second (publishRate 50 here): the server samples it for this stream.
    const total = 40;
    await Promise.all(Array.from({ length: total }, (_, i) => ws.publish('live:sse-budget', i)));
    await waitFor(() => shown + sub.skipped === total, 5000, 'shown + skipped = published');
    assert.ok(sub.skipped > 0, 'sampled to the budget');
  });

  it('join and leave reopen the stream with the new room set, without gaps or duplicates', async () => {
    const ws = track(await connect(wsUrl(server), direct));
    const sse = track(await connect(wsUrl(server), blocked));
    const a = await sse.join('chat:set-a');
    const gotA: number[] = [];
    a.on('message', (m) => gotA.push(m.offset));
    const sent: number[] = [await ws.publish('chat:set-a', 1)];
    await waitFor(() => gotA.length === 1, 5000, 'first message');
    // Published while the stream is being reopened for b: recovered from the positions.
    const joining = sse.join('chat:set-b');
    sent.push(await ws.publish('chat:set-a', 2));
    const b = await joining;
    const gotB: unknown[] = [];
    b.on('message', (m) => gotB.push(m.data));
    sent.push(await ws.publish('chat:set-a', 3));
    await ws.publish('chat:set-b', 'b1');
    await waitFor(() => gotA.length === 3 && gotB.length === 1, 5000, 'both rooms').catch((e) => {
      console.log('DBG', gotA, gotB, sent);
      throw e;
    });
    assert.deepEqual(gotA, sent, 'room a: every message once, in order');
    assert.deepEqual(sse.rooms().sort(), ['chat:set-a', 'chat:set-b']);
    await sse.leave('chat:set-a');
    await ws.publish('chat:set-a', 4);
    await ws.publish('chat:set-b', 'b2');
    await waitFor(() => gotB.length === 2, 5000, 'room b after leaving a');
    assert.equal(gotA.length, 3, 'nothing from a room left');
    assert.deepEqual(sse.rooms(), ['chat:set-b']);
  });

  it('recovers after the stream is cut, from its positions, and reconnects', async () => {
    const proxy = await TcpProxy.start(server.port);
    cleanup.push(() => proxy.close());
    const ws = track(await connect(wsUrl(server), direct));
    const sse = track(
      await connect(wsUrl(proxy.port), { ...blocked, backoff: { initialMs: 50, maxMs: 200 } }),
    );
    const sub = await sse.join('chat:cut');
    const offsets: number[] = [];
    sub.on('message', (m) => offsets.push(m.offset));
    const sent = [await ws.publish('chat:cut', 'a')];
    await waitFor(() => offsets.length === 1, 5000, 'before the cut');
    const opens: boolean[] = [];
    sse.on('open', (e) => opens.push(e.reconnected));
    proxy.cut();
    for (let i = 0; i < 3; i++) sent.push(await ws.publish('chat:cut', `during-${i}`));
    await waitFor(() => opens.length > 0, 5000, 'reconnected');
    sent.push(await ws.publish('chat:cut', 'after'));
    await waitFor(() => offsets.length === sent.length, 5000, 'every message');
    assert.deepEqual(offsets, sent);
    assert.equal(sse.transport, 'sse');
  });

  it('sends the token as a bearer header: the stream and the POST carry the user', async () => {
    const token = await signToken('alice');
    const ws = track(await connect(wsUrl(server), direct));
    const sse = track(await connect(wsUrl(server), { ...blocked, token }));
    const sub = await ws.join('chat:who');
    const from: (string | null)[] = [];
    sub.on('message', (m) => from.push(m.from));
    await sse.publish('chat:who', 'hi');
    await waitFor(() => from.length === 1, 5000, 'message');
    assert.equal(from[0], 'alice');
  });

  it('fails a join the server refuses and keeps the other rooms', async () => {
    const sse = track(await connect(wsUrl(server), blocked));
    await sse.join('chat:fine');
    await assert.rejects(
      sse.join('bad room name'),
      (err: unknown) => err instanceof BarrageError && err.code === 'bad_request',
    );
    assert.ok((await sse.ping()) >= 0);
    assert.deepEqual(sse.rooms(), ['chat:fine']);
  });
});
