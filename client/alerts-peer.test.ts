/**
 * The SDK's alert handling against a scripted peer on a real socket (a `ws` server that sends
 * exactly the lines of protocol.md §16 a test needs, in the frames it needs: an auth reply and
 * the redelivery in one frame, the same alert on two connections). The same behaviour against
 * a real Barrage is in alerts.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import WebSocket, { type WebSocket as PeerSocket, WebSocketServer } from 'ws';
import { waitFor, wsUrl } from '../test/e2e/support/server.js';
import {
  type Alert,
  type BarrageClient,
  type ClientOptions,
  connect,
  createClient,
} from './index.js';

const base: ClientOptions = {
  WebSocket,
  token: 'any',
  requestTimeoutMs: 5000,
  backoff: { initialMs: 20, maxMs: 100 },
};

const push = (id: string, n: number) =>
  JSON.stringify({ type: 'push', event: 'order', data: { n }, ts: 1000 + n, alert: id });

/** A scripted peer: `onAuth` gives the lines that answer `auth` (sent as one frame). */
async function peer(onAuth: (id: unknown, connection: number, socket: PeerSocket) => string[]) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const received: Record<string, unknown>[] = [];
  const sockets: PeerSocket[] = [];
  let connections = 0;
  wss.on('connection', (socket) => {
    const n = ++connections;
    sockets.push(socket);
    socket.send('{"type":"welcome","connId":"c","heartbeat":25000,"userId":"alice"}');
    socket.on('message', (raw) => {
      for (const text of String(raw).split('\n')) {
        const line = JSON.parse(text) as Record<string, unknown>;
        received.push(line);
        if (line.type === 'auth') socket.send(onAuth(line.id, n, socket).join('\n'));
        if (line.type === 'ack' && line.id !== undefined) {
          socket.send(JSON.stringify({ type: 'ok', id: line.id, acked: line.alerts }));
        }
      }
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    port,
    received,
    sockets,
    connections: () => connections,
    close: () => new Promise((resolve) => wss.close(resolve)),
  };
}

describe('alerts in the SDK (scripted peer)', () => {
  const cleanup: Array<() => unknown> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });
  const track = (c: BarrageClient) => {
    cleanup.push(() => c.close());
    return c;
  };

  it('keeps alerts that share a frame with the auth reply for the first listener', async () => {
    const p = await peer((id) => [
      JSON.stringify({ type: 'ok', id, userId: 'alice' }),
      push('A1', 1),
      push('A2', 2),
    ]);
    cleanup.push(p.close);
    // Both alerts are read before connect() resolves, so before the app can listen.
    const client = track(await connect(wsUrl(p.port), base));
    const got: Alert[] = [];
    client.on('alert', (a) => got.push(a));
    await waitFor(() => got.length === 2, 5000, 'the queued alerts');
    assert.deepEqual(
      got.map((a) => [a.id, a.event, a.data, a.ts]),
      [
        ['A1', 'order', { n: 1 }, 1001],
        ['A2', 'order', { n: 2 }, 1002],
      ],
    );
  });

  it('emits a redelivered alert once, and a plain push still as push', async () => {
    const p = await peer((id) => [
      JSON.stringify({ type: 'ok', id, userId: 'alice' }),
      push('A1', 1),
      '{"type":"push","event":"ping","data":null,"ts":5}',
    ]);
    cleanup.push(p.close);
    const client = track(createClient(wsUrl(p.port), base));
    const alerts: string[] = [];
    const pushes: string[] = [];
    client.on('alert', (a) => alerts.push(a.id));
    client.on('push', (e) => pushes.push(e.event));
    await waitFor(() => alerts.length === 1 && pushes.length === 1, 5000, 'first delivery');
    // The server sends the unacknowledged alert again on every authentication.
    p.sockets[0]!.terminate();
    await waitFor(() => p.connections() === 2 && pushes.length === 2, 5000, 'a reconnect');
    assert.deepEqual(alerts, ['A1'], 'the redelivered alert was not emitted again');
    assert.deepEqual(pushes, ['ping', 'ping'], 'plain pushes are not de-duplicated');
  });

  it('remembers a bounded number of ids (seenAlertIds)', async () => {
    const p = await peer((id) => [
      JSON.stringify({ type: 'ok', id, userId: 'alice' }),
      push('A1', 1),
      push('A2', 2),
    ]);
    cleanup.push(p.close);
    const client = track(createClient(wsUrl(p.port), { ...base, seenAlertIds: 1 }));
    const alerts: string[] = [];
    client.on('alert', (a) => alerts.push(a.id));
    await waitFor(() => alerts.length === 2, 5000, 'two alerts');
    p.sockets[0]!.terminate();
    // One id remembered: A1 was forgotten for A2, then A2 for A1 again.
    await waitFor(() => alerts.length === 4, 5000, 'the forgotten ids again');
    assert.deepEqual(alerts, ['A1', 'A2', 'A1', 'A2']);
  });

  it('batches acks of one turn into ack lines of at most 100 ids, and autoAck acks', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => `A${i}`);
    const p = await peer((id) => [
      JSON.stringify({ type: 'ok', id, userId: 'alice' }),
      ...ids.map((a, i) => push(a, i)),
    ]);
    cleanup.push(p.close);
    const client = track(createClient(wsUrl(p.port), { ...base, autoAck: true }));
    let seen = 0;
    client.on('alert', () => seen++);
    await waitFor(() => seen === 130, 5000, '130 alerts');
    await waitFor(
      () => p.received.filter((l) => l.type === 'ack').length === 2,
      5000,
      'two ack lines',
    );
    const acks = p.received.filter((l) => l.type === 'ack');
    assert.deepEqual(
      acks.map((l) => (l.alerts as string[]).length),
      [100, 30],
    );
    assert.deepEqual(
      acks.flatMap((l) => l.alerts as string[]),
      ids,
    );
    assert.ok(
      acks.every((l) => l.id !== undefined),
      'each ack asks for its ok',
    );
    await client.ack(['A0', 'A1']); // resolves on the peer's ok
  });

  it('passes on read and withdrawn, drops a withdrawn alert not yet shown, resyncs once per drop', async () => {
    const p = await peer((id, connection) => {
      const ok = JSON.stringify({ type: 'ok', id, userId: 'alice' });
      if (connection === 1) {
        return [
          ok,
          '{"type":"dropped","count":3,"ts":500}',
          push('A1', 1),
          push('A2', 2),
          '{"type":"withdrawn","alerts":["A1"],"reason":"collapsed","replacedBy":"A2"}',
          push('A3', 3),
          '{"type":"read","alerts":["A3"]}',
        ];
      }
      // The next authentication repeats the drop (same ts) before a newer one comes.
      return [
        ok,
        '{"type":"dropped","count":3,"ts":500}',
        '{"type":"dropped","count":4,"ts":900}',
        '{"type":"withdrawn","alerts":["A9"],"reason":"expired"}',
        '{"type":"read","alerts":["A2","A3"]}',
      ];
    });
    cleanup.push(p.close);
    const client = track(await connect(wsUrl(p.port), base));
    const events: string[] = [];
    client.on('alert', (a) => events.push(`alert ${a.id}`));
    client.on('withdrawn', (w) => events.push(`withdrawn ${w.alerts} ${w.reason} ${w.replacedBy}`));
    client.on('read', (r) => events.push(`read ${r.alerts}`));
    client.on('resync', (r) => events.push(`resync ${r.count} ${r.ts}`));
    await waitFor(() => events.includes('alert A2'), 5000, 'the queued alert');
    // The lines came in the auth reply's frame, before any listener: only the kept alert
    // reached the app; A1 (withdrawn) and A3 (read elsewhere) before they were shown never did.
    assert.deepEqual(events, ['alert A2']);
    p.sockets[0]!.terminate();
    await waitFor(() => events.length === 4, 5000, 'the lines after a reconnect');
    assert.deepEqual(events, [
      'alert A2',
      'resync 4 900',
      'withdrawn A9 expired undefined',
      'read A2,A3',
    ]);
  });
});
