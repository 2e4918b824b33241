import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { apiAgent, openSockets } from './publisher.js';

/** A plain HTTP server on loopback that counts the connections it accepted. */
async function countingServer(): Promise<{ server: Server; url: string; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('connection', () => accepted++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, accepted: () => accepted };
}

describe('openSockets', () => {
  it('opens every connection of the agent before the calls, whatever the answer', {
    timeout: 20_000,
  }, async () => {
    const { server, url, accepted } = await countingServer();
    const agent = apiAgent(12);
    try {
      await openSockets(agent, url, 12);
      assert.equal(accepted(), 12);
      const free = Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0);
      assert.equal(free, 12, 'all of them kept alive for the calls');
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('fails with the reason when connections cannot be opened', { timeout: 20_000 }, async () => {
    const { server, url } = await countingServer();
    server.close();
    await once(server, 'close');
    const agent = apiAgent(3);
    try {
      await assert.rejects(
        openSockets(agent, url, 3),
        /opened 0 of 3 API connections \(.*ECONNREFUSED/,
      );
    } finally {
      agent.destroy();
    }
  });
});
