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
    await c.next((m) => m.type === 'ping', 1000);
    // TestClient answers pings with pong: it stays connected across many intervals.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(c.closeCode, null);
    assert.ok(c.all('ping').length >= 2);
    c.close();
  });

  it('keeps a listener of a busy room that never sends a frame (protocol pings prove it alive)', async () => {
    const listener = await TestClient.connect(server.wsUrl);
    await listener.request({ type: 'join', room: 'chat:busy' });
    const poster = await TestClient.connect(server.wsUrl);
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      poster.send({ type: 'publish', room: 'chat:busy', data: 'tick' });
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.equal(listener.closeCode, null, 'five heartbeats without a frame from the listener');
    assert.equal(
      listener.all('ping').length,
      0,
      'the server was never quiet, so no app-level ping',
    );
    assert.ok(listener.all('message').length > 10);
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
    await waitFor(() => closed, 'the silent connection to be dropped', 3000);
    assert.equal(code, 4003, 'told why: no pong');
  });
});
