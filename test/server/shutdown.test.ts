import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { rawExchangeOutcome, upgradeRequest } from '../support/raw.js';
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
    // Refused or closed by the server, never left hanging (our timer would end that one).
    const attempt = await rawExchangeOutcome(server.port, upgradeRequest(), 10_000);
    await closing;
    // The documented promise: shutdown completes within 10 s whatever the clients do.
    assert.ok(Date.now() - started < 10_000, `shutdown took ${Date.now() - started} ms`);
    for (const c of clients) {
      assert.equal(await c.closed(), 1001);
      assert.ok(c.all('message').some((m) => m.data === 'last words'));
    }
    assert.ok(attempt.closedByServer, 'the upgrade attempt was left hanging');
    assert.ok(
      !attempt.response.startsWith('HTTP/1.1 101'),
      'no upgrade accepted while shutting down',
    );
  });
});
