import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { startServer } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

async function metric(server: Server, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

// Compress-once counters in /metrics (wsCompressMinBytes, src/gateway/ws-frames.ts).
describe('Compression metrics', () => {
  let server: Server;
  before(async () => {
    server = await startServer({ roomPolicies: ['*=0'], wsCompressMinBytes: 512 });
  });
  after(async () => {
    await server.close();
  });

  it('counts each payload compressed once, with its bytes before and after', async () => {
    const names = ['frames', 'bytes_in', 'bytes_out'].map(
      (n) => `barrage_ws_compressed_${n}_total`,
    );
    for (const name of names) assert.equal(await metric(server, name), 0, `${name} starts at 0`);
    const viewers = await Promise.all(
      [1, 2, 3].map(() => TestClient.connect(server.wsUrl, { perMessageDeflate: true })),
    );
    try {
      for (const v of viewers) await v.request({ type: 'join', room: 'big' });
      const text = 'a line that compresses well '.repeat(40);
      await viewers[0]!.request({ type: 'publish', room: 'big', data: { text } });
      await viewers[0]!.request({ type: 'publish', room: 'big', data: 'small' });
      for (const v of viewers) await v.next((m) => m.type === 'message' && m.data === 'small');
      const [frames, bytesIn, bytesOut] = (await Promise.all(
        names.map((n) => metric(server, n)),
      )) as [number, number, number];
      assert.equal(frames, 1, 'the big message compressed once for three sockets, the small not');
      assert.ok(bytesIn > text.length, `bytes in ${bytesIn}`);
      assert.ok(bytesOut > 0 && bytesOut < bytesIn / 4, `bytes out ${bytesOut} of ${bytesIn}`);
    } finally {
      for (const v of viewers) v.close();
    }
  });
});
