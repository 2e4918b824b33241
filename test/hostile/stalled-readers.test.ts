/**
 * Stalled readers (issue 11, item 7): a client that stops reading keeps its connection and its
 * buffers until the heartbeat gives up, because in a lossy room its frames are skipped, never
 * queued past the hard mark. The node closes a connection whose send queue held bytes and
 * drained none for `sendStallTimeoutMs` with 4008, in every kind of room, and counts it
 * (`stalledCloses`, `barrage_stalled_closes_total`). A slow reader that drains is kept.
 *
 * The heartbeat is set to its maximum and the hard mark to 256 MiB, so only the stall defence can
 * close anyone here. Passes when exactly the stalled members are closed and counted, the slow
 * reader is still open and received messages, and the node's RSS stays under a generous cap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServedProcess } from './support.js';
import { frame, metrics, type NodeReport, nodeStats, RawWs, serveProcess } from './support.js';

const STALL_MS = 3000;
const RSS_CAP = 200 * 1024 * 1024;

let server: ServedProcess;
let baseRss = 0;
const raws: RawWs[] = [];

before(async () => {
  server = await serveProcess([
    '--store',
    'none',
    '--send-stall-timeout-ms',
    String(STALL_MS),
    '--heartbeat-ms',
    '600000',
    '--send-hard-limit-bytes',
    String(256 * 1024 * 1024),
    '--max-connections-per-ip',
    '5000',
  ]);
  baseRss = (await nodeStats(server.url)).rssBytes;
});

after(async () => {
  for (const r of raws) r.destroy();
  await server?.stop();
});

/** A member of `room` over a raw socket; `paused` stops reading right after the join. */
async function member(room: string): Promise<RawWs> {
  const raw = await RawWs.open(server.port);
  raws.push(raw);
  raw.keepText = false;
  let joined = false;
  raw.onText = (text) => {
    if (text.includes('"joined"')) joined = true;
  };
  raw.write(frame(1, JSON.stringify({ type: 'join', room, id: 'j' })));
  for (let i = 0; i < 500 && !joined; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(joined, `joined ${room}`);
  return raw;
}

/** A reader that takes in about 4 MB/s: after each chunk it pauses for 1 ms per 4 KB. */
function throttle(raw: RawWs): { messages: number } {
  const seen = { messages: 0 };
  raw.onText = (text) => {
    seen.messages += text.split('"type":"message"').length - 1;
  };
  raw.socket.on('data', (chunk: Buffer) => {
    raw.socket.pause();
    setTimeout(() => raw.socket.resume(), Math.ceil(chunk.length / 4096));
  });
  return seen;
}

/** Publishes `count` messages of `size` bytes through the HTTP API, 20 in flight. */
async function publish(room: string, count: number, size: number): Promise<void> {
  const pad = 'x'.repeat(size);
  for (let i = 0; i < count; i += 20) {
    const batch = Array.from({ length: Math.min(20, count - i) }, (_, j) =>
      fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room, data: { i: i + j, pad } }),
      }).then((r) => {
        assert.equal(r.status, 200);
        return r.arrayBuffer();
      }),
    );
    await Promise.all(batch);
  }
}

/**
 * Publishes 60 KB messages into `room` until `stalled` more connections were closed for a stalled
 * queue, or 30 rounds of 20 (36 MB to every member: more than the kernel absorbs per loopback
 * socket, so the stalled members' queues hold bytes) were sent. Then it stops: the stall timer
 * closes them without more load, so a fast machine cannot outrun the timer and grow the queues
 * of a reliable room without end. RSS is checked after every round.
 */
async function publishUntilStalledClosed(
  room: string,
  before: NodeReport,
  stalled: number,
): Promise<NodeReport> {
  let stats = before;
  for (let round = 0; round < 30; round++) {
    await publish(room, 20, 60_000);
    stats = await nodeStats(server.url);
    assert.ok(stats.rssBytes - baseRss < RSS_CAP, `RSS ${stats.rssBytes} at round ${round}`);
    if (stats.stalledCloses - before.stalledCloses >= stalled) break;
  }
  return stats;
}

/** Polls /api/stats until `pred` holds (30 s: the stall timeout plus a loaded machine). */
async function statsWhen(pred: (s: NodeReport) => boolean): Promise<NodeReport> {
  let last = await nodeStats(server.url);
  for (let i = 0; i < 600 && !pred(last); i++) {
    await new Promise((r) => setTimeout(r, 50));
    last = await nodeStats(server.url);
  }
  assert.ok(pred(last), `stats never matched: ${JSON.stringify(last.closes)}`);
  return last;
}

/** 4008 closes since `before`, once every closed socket has gone (the grace period ends it). */
const closed4008 = (before: NodeReport, n: number) =>
  statsWhen((s) => (s.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0) >= n);

describe('stalled readers', () => {
  it('closes members that stopped reading a lossy room with 4008 and counts them; keeps a slow reader', async () => {
    const room = 'live:stall';
    const before = await nodeStats(server.url);
    const stalled = await Promise.all(Array.from({ length: 4 }, () => member(room)));
    for (const raw of stalled) raw.socket.pause();
    const slow = await member(room);
    const seen = throttle(slow);

    await publishUntilStalledClosed(room, before, stalled.length);
    const after = await closed4008(before, stalled.length);
    assert.equal(after.stalledCloses - before.stalledCloses, stalled.length);
    assert.equal((after.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0), stalled.length);
    assert.equal(after.connections, before.connections + 1, 'only the slow reader is left');
    assert.ok((after.drops.slow ?? 0) > (before.drops.slow ?? 0), 'lossy frames were skipped');
    assert.equal(slow.closeCode, null, 'the slow reader was not closed');
    assert.equal(slow.ended, false);
    assert.ok(seen.messages > 0, 'the slow reader received messages');
    const m = await metrics(server.url);
    assert.equal(m.get('barrage_stalled_closes_total'), after.stalledCloses);
    slow.destroy();
    await statsWhen((s) => s.connections === before.connections);
  });

  it('closes a member that stopped reading a reliable room under the hard mark with 4008', async () => {
    const room = 'chat:stall';
    const before = await nodeStats(server.url);
    const stalled = await Promise.all(Array.from({ length: 2 }, () => member(room)));
    for (const raw of stalled) raw.socket.pause();
    await publishUntilStalledClosed(room, before, stalled.length);
    const after = await closed4008(before, stalled.length);
    assert.equal(after.stalledCloses - before.stalledCloses, stalled.length);
    assert.equal((after.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0), stalled.length);
    assert.equal(after.connections, before.connections);
  });
});
