/**
 * Thousands of idle SSE streams against a `barrage serve` process: 3000 streams from four
 * loopback addresses (750 each, under the per-address cap of 800 set here), then the caps and
 * the node's health with all of them open.
 *
 * Pass criteria:
 * - every stream joins, and the node counts exactly the streams it holds;
 * - the per-address cap holds exactly with streams as with sockets (429 + Retry-After past it);
 * - the server's RSS grows by less than `KIB_PER_STREAM_BOUND` per stream, also after every
 *   stream took several heartbeats (no per-heartbeat growth);
 * - with every stream open the node answers: /healthz, a WebSocket join, and one publish reaches
 *   every stream (a count);
 * - every slot comes back when the clients go.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { waitFor } from '../support/server.js';
import { SseReader } from '../support/sse-client.js';
import { nodeStats, type ServedProcess, serveProcess } from './support.js';

const PER_IP = 800;
const STREAMS_PER_IP = 750;
const IPS = ['127.0.0.31', '127.0.0.32', '127.0.0.33', '127.0.0.34'];
/** Server RSS growth per idle stream allowed (measured: about 20 KiB, docs/sse.md#costs). */
const KIB_PER_STREAM_BOUND = 64;
const ROOM = 'idle:lobby';

let server: ServedProcess;
const streams: SseReader[] = [];

/** Opens `n` streams from `ip`, 100 at a time; resolves with their readers (any status). */
async function openFrom(ip: string, n: number): Promise<SseReader[]> {
  const out: SseReader[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () =>
      SseReader.open(`${server.url}/sse?rooms=${ROOM}`, {}, ip),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function joinedAll(readers: SseReader[]): Promise<void> {
  for (const r of readers) await r.next((e) => e.event === 'joined', 30_000);
}

before(async () => {
  server = await serveProcess([
    '--max-connections-per-ip',
    String(PER_IP),
    // The streams open as fast as the test can: no reconnect-storm pacing in the way.
    '--admission-burst',
    '10000',
    '--heartbeat-ms',
    '1000',
  ]);
});

after(async () => {
  for (const r of streams) r.close();
  await server?.stop();
});

describe('thousands of idle SSE streams', () => {
  it(`holds ${IPS.length * STREAMS_PER_IP} idle streams with bounded memory, caps exact, node responsive`, async (t) => {
    // Warm-up: the first streams pay for code paths and pools, not per stream.
    const warm = await openFrom(IPS[0]!, 50);
    streams.push(...warm);
    await joinedAll(warm);
    const base = (await nodeStats(server.url)).rssBytes;

    const rest: SseReader[] = [];
    for (const [k, ip] of IPS.entries()) {
      const opened = await openFrom(ip, STREAMS_PER_IP - (k === 0 ? warm.length : 0));
      streams.push(...opened);
      rest.push(...opened);
    }
    assert.deepEqual(
      rest.filter((r) => r.status !== 200).map((r) => r.status),
      [],
    );
    await joinedAll(rest);
    const total = IPS.length * STREAMS_PER_IP;
    // /api/stats is refreshed on the presence interval: wait for the count, then it must be exact.
    await waitFor(
      async () => (await nodeStats(server.url)).connections >= total,
      'the streams counted',
      30_000,
    );
    assert.equal((await nodeStats(server.url)).connections, total);

    // The per-address cap counts streams: 50 more fit from a full address, the next 10 do not.
    const extra = await openFrom(IPS[0]!, 60);
    streams.push(...extra);
    const ok = extra.filter((r) => r.status === 200);
    const refused = extra.filter((r) => r.status === 429);
    assert.equal(ok.length, PER_IP - STREAMS_PER_IP);
    assert.equal(refused.length, 10);
    for (const r of refused) assert.ok(Number(r.res.headers['retry-after']) > 0);
    await joinedAll(ok);
    const open = streams.filter((r) => r.status === 200);

    // Idle for a while: every stream takes two heartbeats, and memory stays per stream bounded.
    await waitFor(
      () => open.every((r) => r.comments >= 2),
      'two heartbeats on every stream',
      60_000,
    );
    const grown = (await nodeStats(server.url)).rssBytes - base;
    const perStream = grown / 1024 / (open.length - warm.length);
    t.diagnostic(`server RSS growth: ${perStream.toFixed(1)} KiB per idle stream`);
    assert.ok(
      perStream < KIB_PER_STREAM_BOUND,
      `${perStream.toFixed(1)} KiB per stream (bound ${KIB_PER_STREAM_BOUND})`,
    );

    // Responsive with all of them open: health, a WebSocket join, one publish to every stream.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const ws = await TestClient.connect(server.wsUrl);
    await ws.request({ type: 'join', room: ROOM });
    await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: ROOM, data: 'to everyone' }),
    }).then((r) => r.body?.cancel());
    assert.deepEqual((await ws.next((m) => m.type === 'message')).data, 'to everyone');
    await waitFor(
      () => open.every((r) => r.all('message').length === 1),
      'the publish on every stream',
      30_000,
    );
    ws.close();

    // Every slot comes back.
    for (const r of streams) r.close();
    await waitFor(
      async () => (await nodeStats(server.url)).connections === 0,
      'every stream gone',
      30_000,
    );
  });
});
