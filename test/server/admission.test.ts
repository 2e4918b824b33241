import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { TestClient } from '../support/client.js';
import { api, startServer } from '../support/server.js';

/** Opens a socket and resolves with how it ended: open, or the close code and reason. */
function attempt(
  url: string,
): Promise<{ open: boolean; code?: number; reason?: string; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    ws.once('message', () => resolve({ open: true, ws }));
    ws.once('close', (code, reason) =>
      resolve({ open: false, code, reason: reason.toString(), ws }),
    );
  });
}

// Reconnect storms: new connections are admitted at a rate; the rest are told when to come back.
describe('Admission control', () => {
  let server: Awaited<ReturnType<typeof startServer>>;

  before(async () => {
    server = await startServer({ admissionRate: 20, admissionBurst: 10, reconnectDelayMs: 1000 });
  });
  after(async () => {
    await server.close();
  });

  it('admits a burst, then closes the rest with 1013 and a jittered retryAfterMs', async () => {
    const existing = await TestClient.connect(server.wsUrl);
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, () => attempt(server.wsUrl)));
    const elapsedSec = (Date.now() - started) / 1000;
    const admitted = results.filter((r) => r.open);
    const deferred = results.filter((r) => !r.open);
    // The burst, plus what the rate (20/s) refilled while a loaded machine handled the 40.
    const allowed = 10 + Math.ceil(20 * elapsedSec) + 1;
    assert.ok(
      admitted.length >= 9 && admitted.length <= allowed,
      `admitted ${admitted.length} of ${allowed}`,
    );
    assert.ok(deferred.length >= 40 - allowed, `deferred ${deferred.length}`);
    for (const r of deferred) {
      assert.equal(r.code, 1013);
      const m = /retryAfterMs=(\d+)/.exec(r.reason ?? '');
      assert.ok(m, r.reason);
      const wait = Number(m[1]);
      assert.ok(wait >= 500 && wait <= 1500, `wait ${wait}`);
    }
    const waits = new Set(deferred.map((r) => r.reason));
    assert.ok(waits.size > 1, 'back-offs are jittered');
    // Those already connected are not disturbed.
    assert.equal((await existing.request({ type: 'ping' })).type, 'pong');
    const stats = await api(server, 'GET', '/api/stats');
    const closes = (stats.body.nodes as { closes: Record<string, number> }[])[0]!.closes;
    assert.equal(closes['1013'], deferred.length);
    for (const r of results) r.ws.terminate();
    existing.close();
  });

  it('admits again once the rate allows', async () => {
    await new Promise((r) => setTimeout(r, 600));
    const again = await attempt(server.wsUrl);
    assert.equal(again.open, true);
    again.ws.terminate();
  });
});

describe('Shutdown back-off', () => {
  it('tells each client a random wait before reconnecting', async () => {
    const server = await startServer({ reconnectDelayMs: 2000 });
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => TestClient.connect(server.wsUrl)),
    );
    await server.close();
    const waits = [];
    for (const c of clients) {
      assert.equal(await c.closed(), 1001);
      const m = /retryAfterMs=(\d+)/.exec(c.closeReason);
      assert.ok(m, c.closeReason);
      waits.push(Number(m[1]));
    }
    assert.ok(waits.every((w) => w >= 0 && w <= 2000));
    assert.ok(new Set(waits).size > 1);
  });
});
