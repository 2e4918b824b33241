import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { TestClient } from '../support/client.js';
import { startServer, waitFor } from '../support/server.js';

// Liveness both ways: the server pings a quiet connection and drops a silent one.
describe('Heartbeat', () => {
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    server = await startServer({ heartbeatMs: 200 });
  });
  after(async () => {
    await server.close();
  });

  it('announces the heartbeat in welcome and pings after that much quiet', async () => {
    const c = await TestClient.connect(server.wsUrl);
    assert.equal(c.lines[0]!.heartbeat, 200);
    // TestClient answers pings with pong: it stays connected across many intervals.
    for (let i = 0; i < 3; i++) await c.next((m) => m.type === 'ping', 15_000);
    assert.equal(c.closeCode, null);
    c.close();
  });

  it('keeps a listener of a busy room that never sends a frame (protocol pings prove it alive)', async (t) => {
    // A plain ws socket: after its join it sends no application frame at all (app pings go
    // unanswered); only its WebSocket stack answers the server's protocol pings.
    const listener = new WebSocket(server.wsUrl, { perMessageDeflate: false });
    let messages = 0;
    let appPings = 0;
    let closeCode: number | null = null;
    listener.on('close', (code) => {
      closeCode = code;
    });
    listener.on('message', (data) => {
      for (const line of String(data).split('\n')) {
        if (line.includes('"type":"welcome"'))
          listener.send(JSON.stringify({ type: 'join', room: 'chat:busy', id: 'j' }));
        else if (line.includes('"type":"message"')) messages++;
        else if (line.includes('"type":"ping"')) appPings++;
      }
    });
    const joined = new Promise<void>((resolve) =>
      listener.on('message', (d) => String(d).includes('"joined"') && resolve()),
    );
    await joined;
    const poster = await TestClient.connect(server.wsUrl);
    // Busy for at least six heartbeat intervals, counted in the listener's own deliveries.
    const started = Date.now();
    for (let i = 0; i < 3000 && (messages < 30 || Date.now() - started < 6 * 200); i++) {
      poster.send({ type: 'publish', room: 'chat:busy', data: 'tick' });
      await new Promise((r) => setTimeout(r, 20));
    }
    t.diagnostic(`${messages} messages, ${appPings} unanswered app pings`);
    assert.equal(closeCode, null, 'six heartbeats without an application frame from the listener');
    assert.ok(messages >= 30);
    listener.close();
    poster.close();
  });

  it('terminates a connection it has heard nothing from for two intervals', async () => {
    const silent = new WebSocket(server.wsUrl, { autoPong: false });
    let closed = false;
    let code = 0;
    silent.on('close', (c) => {
      closed = true;
      code = c;
    });
    silent.on('error', () => {});
    // Never answers the app-level ping (and ws is told not to answer protocol pings either).
    await waitFor(() => closed, 'the silent connection to be dropped', 15_000);
    assert.equal(code, 4003, 'told why: no pong');
  });
});
