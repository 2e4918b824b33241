/**
 * Fragment amplification (issue 11, item 8): continuation frames that carry nothing cost the
 * attacker 6 bytes each, but every one the server keeps costs it a Buffer object and pins the
 * socket chunk it arrived in. The gateway caps fragments per message (`maxFragments`, close 1008)
 * and buffered socket chunks per connection, so what a connection makes the server hold stays a
 * small multiple of what it sent. Passes when every flooding connection is closed with 1008, the
 * node's RSS grows under a generous cap, and an ordinary fragmented message is still served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  frame,
  type NodeReport,
  nodeStats,
  RawWs,
  type ServedProcess,
  serveProcess,
  sleep,
} from './support.js';

const CONNECTIONS = 40;
/** Fragments each connection sends: under ws's own default cap of 16 384, and under 64 KiB. */
const FRAGMENTS = 16_000;

let server: ServedProcess;
const raws: RawWs[] = [];

before(async () => {
  server = await serveProcess(['--store', 'none', '--max-connections-per-ip', '5000']);
});

after(async () => {
  for (const r of raws) r.destroy();
  await server?.stop();
});

async function open(): Promise<RawWs> {
  const raw = await RawWs.open(server.port);
  raws.push(raw);
  return raw;
}

/** A text message opened and never finished, followed by `count` continuation frames. */
function flood(count: number, payload: string): Buffer {
  const one = frame(0, payload, { fin: false });
  const parts: Buffer[] = [frame(1, '{"type":"ping",', { fin: false })];
  for (let i = 0; i < count; i++) parts.push(one);
  return Buffer.concat(parts);
}

/** Polls /api/stats until `pred` holds (10 s), failing with the last report. */
async function statsWhen(pred: (s: NodeReport) => boolean): Promise<NodeReport> {
  let last = await nodeStats(server.url);
  for (let i = 0; i < 200 && !pred(last); i++) {
    await sleep(50);
    last = await nodeStats(server.url);
  }
  assert.ok(pred(last), `stats never matched: closes ${JSON.stringify(last.closes)}`);
  return last;
}

describe('fragment amplification', () => {
  for (const [what, payload] of [
    ['1-byte', ' '],
    ['empty', ''],
  ] as const) {
    it(`closes ${CONNECTIONS} connections sending ${FRAGMENTS} ${what} continuation frames with 1008, memory bounded`, async () => {
      const before = await nodeStats(server.url);
      const opened = await Promise.all(Array.from({ length: CONNECTIONS }, () => open()));
      const bytes = flood(FRAGMENTS, payload);
      for (const raw of opened) raw.write(bytes);
      const codes = await Promise.all(opened.map((raw) => raw.closed(20_000)));
      assert.deepEqual(
        codes,
        opened.map(() => 1008),
      );
      const after = await statsWhen(
        (s) => (s.closes['1008'] ?? 0) - (before.closes['1008'] ?? 0) >= CONNECTIONS,
      );
      const grew = after.rssBytes - before.rssBytes;
      const sent = CONNECTIONS * bytes.length;
      // Generous: eight times what the attackers sent in total plus 32 MiB of noise.
      assert.ok(grew < 8 * sent + 32 * 1024 * 1024, `RSS grew by ${grew} bytes (sent ${sent})`);
    });
  }

  it('still serves a message in a few fragments', async () => {
    const raw = await open();
    raw.write(
      Buffer.concat([
        frame(1, '{"type":"ping",', { fin: false }),
        frame(0, '"id":', { fin: false }),
        frame(0, '', { fin: false }),
        frame(0, '"frag"}'),
      ]),
    );
    await raw.waitText((l) => l.includes('"id":"frag"'));
    assert.equal(raw.closeCode, null);
  });
});
