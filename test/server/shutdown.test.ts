import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { rawExchange, upgradeRequest } from '../support/raw.js';
import { startServer } from '../support/server.js';

describe('Graceful shutdown', () => {
  it('closes every client with 1001, refuses new ones, and finishes quickly', async () => {
    const server = await startServer({ roomPolicies: ['live:*=1000/lossy'] });
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => TestClient.connect(server.wsUrl)),
    );
    for (const c of clients) await c.request({ type: 'join', room: 'live:bye' });
    // A message still in a long merge window is flushed before the close.
    await clients[0]!.request({ type: 'publish', room: 'live:bye', data: 'last words' });
    const started = Date.now();
    const closing = server.close();
    const refused = await rawExchange(server.port, upgradeRequest(), 500).catch(() => '');
    await closing;
    assert.ok(Date.now() - started < 5000);
    for (const c of clients) {
      assert.equal(await c.closed(), 1001);
      assert.ok(c.all('message').some((m) => m.data === 'last words'));
    }
    assert.ok(!refused.startsWith('HTTP/1.1 101'), 'no upgrade accepted while shutting down');
  });
});
