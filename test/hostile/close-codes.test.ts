/**
 * Client-chosen metric labels (security.md): close codes a client sends must not become new
 * `/api/stats` `closes` keys and `barrage_closes_total` series. Before the defence, 300 sockets
 * closing with 3000+i made 301 series that never went away.
 *
 * Pass criteria: after 300 closes with codes no one else uses, `closes` holds them under the
 * range keys `3xxx` and `4xxx`, and no key or series names one of those codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { api, startServer, waitFor } from '../support/server.js';

const CODES = [
  ...Array.from({ length: 150 }, (_, i) => 3000 + i),
  ...Array.from({ length: 150 }, (_, i) => 4100 + i),
];

describe('client-chosen close codes', () => {
  it('are counted by range, not as new keys and series', async () => {
    const server = await startServer();
    try {
      for (let i = 0; i < CODES.length; i += 50) {
        const batch = CODES.slice(i, i + 50);
        await Promise.all(
          batch.map(
            (code) =>
              new Promise<void>((resolve, reject) => {
                const ws = new WebSocket(server.wsUrl);
                ws.once('error', reject);
                ws.once('message', () => ws.close(code)); // after the welcome
                ws.once('close', () => resolve());
              }),
          ),
        );
      }
      let closes: Record<string, number> = {};
      await waitFor(async () => {
        const { body } = await api(server, 'GET', '/api/stats');
        closes = (body.nodes as { closes: Record<string, number> }[])[0]!.closes;
        return (closes['3xxx'] ?? 0) + (closes['4xxx'] ?? 0) >= CODES.length;
      }, 'the 300 closes to be counted');
      assert.deepEqual([closes['3xxx'], closes['4xxx']], [150, 150]);
      const minted = Object.keys(closes).filter((k) => CODES.includes(Number(k)));
      assert.deepEqual(minted, [], 'no key names a client-chosen code');
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const series = text.match(/^barrage_closes_total\{[^}]*\}/gm) ?? [];
      assert.ok(series.length <= 4, `${series.length} barrage_closes_total series`);
      assert.ok(series.some((s) => s.includes('code="3xxx"')));
    } finally {
      await server.close();
    }
  });
});
