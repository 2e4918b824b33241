/**
 * Resource exhaustion against a `barrage serve` process with small caps: connection floods past
 * the per-IP and per-node caps, clients that never read or read slowly, join and publish floods,
 * a hot room; plus slowloris on the upgrade and clients that never authenticate (in-process
 * servers, where the test can shorten the windows).
 *
 * Pass criteria (stated bounds):
 * - caps hold exactly: per IP `PER_IP`, per node `MAX_CONN` (429 / 503 with Retry-After past them),
 *   and slots come back when connections end, however they end;
 * - the server's RSS grows by less than `RSS_GROWTH_BOUND` over its baseline;
 * - the server's event-loop delay p99 (/api/stats eventLoopP99Ms) stays under `LOOP_P99_BOUND`;
 * - well-behaved clients get every message they are promised (reliable rooms: all, in order;
 *   lossy rooms: all but the counted drops).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createServer } from '../../src/server/index.js';
import { TestClient } from '../support/client.js';
import { clientFrame, upgradeRequest } from '../support/raw.js';
import { startServer } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import {
  latencyBound,
  medianRtt,
  type NodeReport,
  nodeStats,
  RawWs,
  type ServedProcess,
  serveProcess,
  sleep,
} from './support.js';

const PER_IP = 150;
const MAX_CONN = 400;
const RSS_GROWTH_BOUND = 150 * 1024 * 1024;
const LOOP_P99_BOUND = 500;

let server: ServedProcess;
let probe: TestClient;
let rttBound = 0;
let baseRss = 0;
const sockets: WebSocket[] = [];
const raws: RawWs[] = [];

before(async () => {
  server = await serveProcess([
    '--max-connections',
    String(MAX_CONN),
    '--max-connections-per-ip',
    String(PER_IP),
    '--publish-rate',
    '10',
    '--publish-burst',
    '20',
    '--max-rooms-per-connection',
    '100',
    '--room-policies',
    'live:*=50/lossy',
    '--send-soft-limit-bytes',
    '65536',
    '--send-hard-limit-bytes',
    '262144',
  ]);
  probe = await TestClient.connect(server.wsUrl);
  await medianRtt(probe, 5);
  rttBound = latencyBound(await medianRtt(probe, 11));
  baseRss = (await nodeStats(server.url)).rssBytes;
});

after(async () => {
  probe?.close();
  for (const s of sockets) s.terminate();
  for (const r of raws) r.destroy();
  await server?.stop();
});

/** Bounds that every case ends with. */
async function withinBounds(): Promise<NodeReport> {
  assert.ok(server.alive(), `server exited: ${server.stderr()}`);
  const stats = await nodeStats(server.url);
  const grew = stats.rssBytes - baseRss;
  assert.ok(grew < RSS_GROWTH_BOUND, `RSS grew ${(grew / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(
    stats.eventLoopP99Ms < LOOP_P99_BOUND,
    `event-loop p99 ${stats.eventLoopP99Ms} ms over ${LOOP_P99_BOUND}`,
  );
  const rtt = await medianRtt(probe, 5);
  assert.ok(rtt <= rttBound, `probe ping ${rtt.toFixed(1)} ms over ${rttBound} ms`);
  return stats;
}

type Attempt = { ws: WebSocket; status: 101 } | { status: number; retryAfter: string | null };

/** One WebSocket attempt from a given loopback address. */
function attempt(localAddress: string, url = server.wsUrl): Promise<Attempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    ws.on('error', () => {});
    ws.once('open', () => {
      sockets.push(ws);
      resolve({ ws, status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] ?? null });
      res.resume();
      ws.terminate();
    });
  });
}

async function closeAll(list: Attempt[]): Promise<void> {
  await Promise.all(
    list.map(
      (a) =>
        new Promise<void>((resolve) => {
          if (!('ws' in a) || a.ws.readyState === WebSocket.CLOSED) return resolve();
          a.ws.once('close', () => resolve());
          a.ws.terminate();
        }),
    ),
  );
}

async function connectionsDropTo(n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await nodeStats(server.url)).connections > n && Date.now() < deadline) await sleep(20);
  assert.ok((await nodeStats(server.url)).connections <= n, 'connections were not released');
}

describe('connection caps', () => {
  it(`holds ${PER_IP} per IP under a flood of 2x that (429 + Retry-After), other IPs unaffected`, async () => {
    const results = await Promise.all(
      Array.from({ length: 2 * PER_IP }, () => attempt('127.0.0.2')),
    );
    const open = results.filter((r) => r.status === 101).length;
    const refused = results.filter((r) => r.status === 429);
    assert.equal(open, PER_IP);
    assert.equal(refused.length, PER_IP);
    for (const r of refused) assert.ok('retryAfter' in r && Number(r.retryAfter) > 0);
    const other = await attempt('127.0.0.3');
    assert.equal(other.status, 101);
    await closeAll([...results, other]);
    await connectionsDropTo(1);
    // Slots came back: the same IP can fill its quota again.
    const again = await Promise.all(Array.from({ length: PER_IP }, () => attempt('127.0.0.2')));
    assert.equal(again.filter((r) => r.status === 101).length, PER_IP);
    await closeAll(again);
    await connectionsDropTo(1);
    await withinBounds();
  });

  it(`holds ${MAX_CONN} per node across many IPs (503 + Retry-After past it)`, async () => {
    const before = (await nodeStats(server.url)).connections;
    const ips = Array.from({ length: 5 }, (_, i) => `127.0.0.${20 + i}`);
    const results = await Promise.all(
      Array.from({ length: MAX_CONN + 50 }, (_, i) => attempt(ips[i % ips.length]!)),
    );
    const open = results.filter((r) => r.status === 101).length;
    assert.equal(open, MAX_CONN - before);
    const full = results.filter((r) => r.status === 503);
    assert.equal(full.length, results.length - open);
    for (const r of full) assert.ok('retryAfter' in r && Number(r.retryAfter) > 0);
    assert.equal((await nodeStats(server.url)).connections, MAX_CONN);
    await closeAll(results);
    await connectionsDropTo(before);
    await withinBounds();
  });

  it('releases the slot of every handshake abandoned half-way (500 of them)', async () => {
    await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            const request = upgradeRequest({ Host: `127.0.0.1:${server.port}` });
            // Some cut mid-headers, some right after the full request, some after the 101.
            if (i % 3 === 0) s.end(request.slice(0, 30), () => s.destroy());
            else if (i % 3 === 1) s.write(request, () => s.destroy());
            else {
              s.write(request);
              s.once('data', () => s.destroy());
            }
          }),
      ),
    );
    await connectionsDropTo(1);
    const again = await Promise.all(Array.from({ length: PER_IP }, () => attempt('127.0.0.4')));
    assert.equal(again.filter((r) => r.status === 101).length, PER_IP);
    await closeAll(again);
    await connectionsDropTo(1);
    await withinBounds();
  });
});

/** A raw WebSocket that joins `room` and then stops reading (its socket paused). */
async function stalledMember(room: string): Promise<RawWs> {
  const raw = await RawWs.open(server.port);
  raws.push(raw);
  raw.write(clientFrame(1, Buffer.from(JSON.stringify({ type: 'join', room, id: 'j' }))));
  await raw.waitText((l) => l.includes('"joined"'));
  raw.socket.pause();
  return raw;
}

/** Publishes `count` messages through the HTTP API, 20 in flight; returns the offsets. */
async function apiPublish(room: string, count: number, size: number): Promise<number[]> {
  const offsets: number[] = [];
  const pad = 'x'.repeat(size);
  for (let i = 0; i < count; i += 20) {
    const batch = Array.from({ length: Math.min(20, count - i) }, (_, j) =>
      fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room, data: { i: i + j, pad } }),
      }).then(async (r) => ((await r.json()) as { offset: number }).offset),
    );
    offsets.push(...(await Promise.all(batch)));
  }
  return offsets;
}

describe('clients that never read or read slowly', () => {
  it('closes never-readers of a reliable room with 4008, memory bounded; a reader gets every message in order', async () => {
    const room = 'chat:hot';
    const before = await nodeStats(server.url);
    const stalled = await Promise.all(Array.from({ length: 5 }, () => stalledMember(room)));
    const reader = await TestClient.connect(server.wsUrl);
    await reader.request({ type: 'join', room });
    await sleep(100);
    // The kernel absorbs tens of MB per loopback socket before the server's own buffer grows,
    // so publish 60 KB messages until all five are cut off (bounded: at most 1500, ~90 MB each).
    const offsets: number[] = [];
    let closed = 0;
    for (let batch = 0; batch < 75 && closed < stalled.length; batch++) {
      offsets.push(...(await apiPublish(room, 20, 60_000)));
      const s = await nodeStats(server.url);
      closed = (s.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0);
      assert.ok(s.rssBytes - baseRss < RSS_GROWTH_BOUND, `RSS ${s.rssBytes} at batch ${batch}`);
    }
    assert.equal(closed, stalled.length, 'every never-reader was closed with 4008');
    await reader.next((m) => m.type === 'message' && m.offset === offsets.at(-1), 15_000);
    assert.deepEqual(
      reader.all('message').map((m) => m.offset),
      [...offsets].sort((a, b) => a - b),
    );
    await withinBounds();
    reader.close();
    for (const s of stalled) s.destroy();
  });

  it('skips lossy messages for slow readers and counts every skip; a fast reader gets all', async () => {
    const room = 'live:slow';
    const before = await nodeStats(server.url);
    // Two readers that take in at most ~1 MB/s, counting messages as they come and checking order.
    const slow = await Promise.all(Array.from({ length: 2 }, () => stalledMember(room)));
    const seen = slow.map(() => ({ count: 0, last: 0, disorder: 0 }));
    const unthrottle: (() => void)[] = [];
    slow.forEach((raw, k) => {
      raw.keepText = false;
      raw.onText = (text) => {
        for (const m of text.matchAll(/"type":"message","room":"[^"]*","offset":(\d+)/g)) {
          const offset = Number(m[1]);
          if (offset <= seen[k]!.last) seen[k]!.disorder++;
          seen[k]!.last = offset;
          seen[k]!.count++;
        }
      };
      let throttled = true;
      raw.socket.on('data', (chunk: Buffer) => {
        if (!throttled) return;
        raw.socket.pause();
        setTimeout(() => raw.socket.resume(), Math.ceil(chunk.length / 1000));
      });
      raw.socket.resume();
      unthrottle.push(() => {
        throttled = false;
        raw.socket.resume();
      });
    });
    const fast = await TestClient.connect(server.wsUrl);
    await fast.request({ type: 'join', room });
    await sleep(100);
    // Publish 60 KB messages until the slow readers fall behind far enough to lose some
    // (the kernel first absorbs tens of MB per socket); bounded at 1500 messages.
    const offsets: number[] = [];
    let dropped = 0;
    for (let batch = 0; batch < 75 && dropped === 0; batch++) {
      offsets.push(...(await apiPublish(room, 20, 60_000)));
      dropped = ((await nodeStats(server.url)).drops.slow ?? 0) - (before.drops.slow ?? 0);
    }
    assert.ok(dropped > 0, 'the slow readers fell behind and lost something');
    await fast.next((m) => m.type === 'message' && m.offset === offsets.at(-1), 15_000);
    assert.equal(fast.all('message').length, offsets.length);
    // Drain: read the rest at full speed until nothing more comes for 300 ms.
    for (const stop of unthrottle) stop();
    let last = -1;
    for (let i = 0; i < 100; i++) {
      const total = seen.reduce((n, s) => n + s.count, 0);
      if (total === last) break;
      last = total;
      await sleep(300);
    }
    const stats = await withinBounds();
    dropped = (stats.drops.slow ?? 0) - (before.drops.slow ?? 0);
    for (const [k, raw] of slow.entries()) {
      assert.equal(seen[k]!.disorder, 0, 'in order');
      assert.equal(raw.closeCode, null, 'a lossy room never closes a slow reader');
    }
    // Every message to every slow member was either read by it or counted as dropped.
    assert.equal(last + dropped, offsets.length * slow.length);
    fast.close();
    for (const raw of slow) raw.destroy();
  });
});

describe('floods', () => {
  it('caps a join flood (1000 joins in one frame) at the room limit and the command rate', async () => {
    const c = await TestClient.connect(server.wsUrl);
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ type: 'join', room: `flood:${i}`, id: i }),
    );
    c.send(lines.join('\n'));
    const answered = () => c.lines.filter((m) => m.type === 'joined' || m.type === 'error');
    const deadline = Date.now() + 10_000;
    while (answered().length < 1000 && Date.now() < deadline) await sleep(20);
    await sleep(200);
    const replies = answered();
    assert.equal(replies.length, 1000, 'every line got exactly one answer');
    const joined = replies.filter((m) => m.type === 'joined').length;
    const limited = replies.filter((m) => m.code === 'rate_limited').length;
    const capped = replies.filter((m) => m.code === 'forbidden').length;
    assert.equal(joined, 100, `${joined} rooms joined, cap 100`);
    assert.equal(joined + capped + limited, 1000);
    assert.ok(limited >= 700, `${limited} rate_limited (burst 200)`);
    const stats = await withinBounds();
    assert.ok(stats.rooms <= 100 + 5, `${stats.rooms} rooms on the node`);
    c.close();
  });

  it('caps a publish flood (1000 in one frame) at the publish rate; members get exactly the acknowledged ones', async () => {
    const room = 'chat:flood';
    const member = await TestClient.connect(server.wsUrl);
    await member.request({ type: 'join', room });
    const c = await TestClient.connect(server.wsUrl);
    const started = Date.now();
    c.send(
      Array.from({ length: 1000 }, (_, i) =>
        JSON.stringify({ type: 'publish', room, data: i, id: i }),
      ).join('\n'),
    );
    const answered = () => c.lines.filter((m) => m.type === 'ok' || m.type === 'error');
    const deadline = Date.now() + 10_000;
    while (answered().length < 1000 && Date.now() < deadline) await sleep(20);
    assert.equal(answered().length, 1000, 'every line got exactly one answer');
    const elapsed = (Date.now() - started) / 1000;
    const acks = c.lines.filter((m) => m.type === 'ok').map((m) => m.offset as number);
    assert.ok(acks.length >= 20, `${acks.length} accepted, burst 20`);
    assert.ok(acks.length <= 20 + Math.ceil(10 * elapsed) + 2, `${acks.length} accepted`);
    await sleep(300);
    assert.deepEqual(
      member.all('message').map((m) => m.offset),
      acks,
    );
    await withinBounds();
    member.close();
    c.close();
  });

  it('serves a hot lossy room: 100 members, 10 publishers aiming at 50/s each (500/s), all counted', async (t) => {
    const room = 'live:hot';
    const before = await nodeStats(server.url);
    const counts: number[] = [];
    const lastOffset: number[] = [];
    const outOfOrder: number[] = [];
    const members = await Promise.all(
      Array.from({ length: 100 }, async (_, k) => {
        counts[k] = 0;
        lastOffset[k] = 0;
        outOfOrder[k] = 0;
        const c = await TestClient.connect(server.wsUrl);
        await c.request({ type: 'join', room });
        // From here on, count lines cheaply instead of keeping them.
        c.ws.removeAllListeners('message');
        c.ws.on('message', (data) => {
          for (const m of String(data).matchAll(
            /"type":"message","room":"[^"]*","offset":(\d+)/g,
          )) {
            const offset = Number(m[1]);
            if (offset <= lastOffset[k]!) outOfOrder[k]!++;
            lastOffset[k] = offset;
            counts[k]!++;
          }
        });
        return c;
      }),
    );
    let acked = 0;
    const started = Date.now();
    const deadline = started + 15_000;
    const loopP99: number[] = [];
    const sampler = setInterval(() => {
      void nodeStats(server.url).then((s) => loopP99.push(s.eventLoopP99Ms));
    }, 500);
    await Promise.all(
      Array.from({ length: 10 }, async (_, n) => {
        for (let i = 0; i < 100 && Date.now() < deadline; i++) {
          // Through the API, which the per-connection publish rate does not limit.
          const r = await fetch(`${server.url}/api/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ room, data: { n, i, text: 'danmaku comment' } }),
          });
          if (r.status === 200) acked++;
          await r.arrayBuffer();
          await sleep(20);
        }
      }),
    );
    clearInterval(sampler);
    const rate = acked / ((Date.now() - started) / 1000);
    t.diagnostic(`hot room: ${acked} messages at ${rate.toFixed(0)}/s to 100 members`);
    await sleep(500);
    const stats = await withinBounds();
    const dropped = (stats.drops.slow ?? 0) - (before.drops.slow ?? 0);
    const received = counts.reduce((a, b) => a + b, 0);
    assert.equal(acked, 1000, 'every API publish was accepted');
    assert.equal(
      outOfOrder.reduce((a, b) => a + b, 0),
      0,
    );
    // Promise of a lossy room: every message reaches every member or is counted as dropped.
    assert.equal(received + dropped, acked * members.length);
    for (const p99 of loopP99) assert.ok(p99 < LOOP_P99_BOUND, `event-loop p99 ${p99} ms`);
    for (const c of members) c.close();
  });
});

describe('slowloris on the upgrade (in-process server, shortened window)', () => {
  it('closes 300 slowloris upgrades at the headers timeout while others connect and are served', async () => {
    const s = await createServer({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
    // The server sets headersTimeout to 10 s and Node checks it every 30 s
    // (connectionsCheckingInterval): up to 40 s in all. Both are shortened here so the test takes
    // seconds; the mechanism is the same.
    s.http.headersTimeout = 1000;
    // Read by Node when the server starts listening (not in @types/node).
    (s.http as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval =
      200;
    await s.listen();
    const wsUrl = `${s.url.replace('http', 'ws')}/ws`;
    try {
      const request = upgradeRequest({ Host: `127.0.0.1:${s.port}` });
      let closedByServer = 0;
      const slow = Array.from({ length: 300 }, () => {
        const sock = connect({ port: s.port, host: '127.0.0.1', localAddress: '127.0.0.5' });
        sock.on('error', () => {});
        sock.on('close', () => closedByServer++);
        return sock;
      });
      // One byte per socket every 100 ms: never a complete request within the timeout.
      let at = 0;
      const dribble = setInterval(() => {
        for (const sock of slow) if (!sock.destroyed) sock.write(request[at]!);
        at++;
      }, 100);
      const probeClient = await TestClient.connect(wsUrl);
      const base = await medianRtt(probeClient, 5);
      await sleep(300);
      const fresh = await TestClient.connect(wsUrl);
      assert.equal((await fresh.request({ type: 'ping' })).type, 'pong');
      const during = await medianRtt(probeClient, 5);
      assert.ok(during <= latencyBound(base), `probe ${during.toFixed(1)} ms during slowloris`);
      const deadline = Date.now() + 5000;
      while (closedByServer < slow.length && Date.now() < deadline) await sleep(50);
      clearInterval(dribble);
      assert.equal(closedByServer, slow.length, 'every slowloris socket was closed by the server');
      assert.ok(at < request.length, 'no slowloris request was ever complete');
      assert.equal(s.node.stats().connections, 2);
      probeClient.close();
      fresh.close();
    } finally {
      await s.close();
    }
  });
});

describe('clients that never authenticate', () => {
  it('closes 100 connections that never authenticate with 4002; an authenticated one stays', async () => {
    const s = await startServer({ jwtSecret: TEST_SECRET, requireAuth: true, authTimeoutMs: 300 });
    try {
      const good = await TestClient.connect(`${s.wsUrl}?token=${await signToken('alice')}`);
      const silent = await Promise.all(
        Array.from({ length: 100 }, () => TestClient.connect(s.wsUrl)),
      );
      const codes = await Promise.all(silent.map((c) => c.closed(5000)));
      assert.deepEqual(new Set(codes), new Set([4002]));
      assert.equal((await good.request({ type: 'ping' })).type, 'pong');
      assert.equal(good.closeCode, null);
      good.close();
    } finally {
      await s.close();
    }
  });
});
