/**
 * Exhaustion by floods, against a `barrage serve` process with small limits (see target.ts): a join
 * flood, a publish flood, a hot lossy room; then slowloris on the upgrade and clients that never
 * authenticate, on in-process servers where the test can shorten the windows.
 *
 * Pass criteria: answers within the limits (rooms per connection 100, command burst 200, publish
 * rate 10/s burst 20), every line answered exactly once, members get exactly the accepted
 * messages, the bounds of target.ts hold (alive, RSS growth < 150 MiB, the probe answered; with
 * BARRAGE_TIMING_GATES=1 also event-loop p99 < 500 ms and the probe within 3x baseline);
 * slowloris sockets closed by the server at the headers timeout while others are served; silent
 * clients closed with 4002. Every count is read after the event that completes it (the answer to
 * a trailing ping, the last acknowledged offset), never after a fixed sleep.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer } from '../../src/server/index.js';
import { TestClient } from '../support/client.js';
import { upgradeRequest } from '../support/raw.js';
import { startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import { latencyBound, medianRtt, nodeStats, sleep, timingGate } from './support.js';
import { LOOP_P99_BOUND, Target } from './target.js';

let target: Target;
before(async () => {
  target = await Target.start();
});
after(async () => {
  await target?.stop();
});

describe('floods', () => {
  it('caps a join flood (1000 joins in one frame) at the room limit and the command rate', async () => {
    const c = await TestClient.connect(target.server.wsUrl);
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ type: 'join', room: `flood:${i}`, id: i }),
    );
    c.send(lines.join('\n'));
    const answered = () =>
      c.lines.filter(
        (m) => (m.type === 'joined' || m.type === 'error') && typeof m.id === 'number',
      );
    // Commands are answered in order: once a later ping is answered, every join line has been.
    await waitFor(() => answered().length >= 1000, '1000 answers', 30_000);
    await pingAnswered(c);
    const replies = answered();
    assert.equal(replies.length, 1000, 'every line got exactly one answer');
    assert.deepEqual(
      replies.map((m) => m.id).sort((x, y) => Number(x) - Number(y)),
      Array.from({ length: 1000 }, (_, i) => i),
      'every answer carries the id of its line, rate_limited ones too',
    );
    const joined = replies.filter((m) => m.type === 'joined').length;
    const limited = replies.filter((m) => m.code === 'rate_limited').length;
    const capped = replies.filter((m) => m.code === 'forbidden').length;
    assert.equal(joined, 100, `${joined} rooms joined, cap 100`);
    assert.equal(joined + capped + limited, 1000);
    assert.ok(limited >= 700, `${limited} rate_limited (burst 200)`);
    const stats = await target.withinBounds();
    assert.ok(stats.rooms <= 100 + 5, `${stats.rooms} rooms on the node`);
    c.close();
  });

  it('caps a publish flood (1000 in one frame) at the publish rate; members get exactly the acknowledged ones', async () => {
    const room = 'chat:flood';
    const member = await TestClient.connect(target.server.wsUrl);
    await member.request({ type: 'join', room });
    const c = await TestClient.connect(target.server.wsUrl);
    const started = Date.now();
    c.send(
      Array.from({ length: 1000 }, (_, i) =>
        JSON.stringify({ type: 'publish', room, data: i, id: i }),
      ).join('\n'),
    );
    const answered = () =>
      c.lines.filter((m) => (m.type === 'ok' || m.type === 'error') && typeof m.id === 'number');
    await waitFor(() => answered().length >= 1000, '1000 answers', 30_000);
    await pingAnswered(c);
    assert.equal(answered().length, 1000, 'every line got exactly one answer');
    assert.deepEqual(
      answered()
        .map((m) => m.id)
        .sort((x, y) => Number(x) - Number(y)),
      Array.from({ length: 1000 }, (_, i) => i),
      'every answer carries the id of its line',
    );
    const elapsed = (Date.now() - started) / 1000;
    const acks = c.lines.filter((m) => m.type === 'ok').map((m) => m.offset as number);
    assert.ok(acks.length >= 20, `${acks.length} accepted, burst 20`);
    assert.ok(acks.length <= 20 + Math.ceil(10 * elapsed) + 2, `${acks.length} accepted`);
    // A reliable room delivers in offset order: the last acknowledged offset comes last.
    const lastAck = acks[acks.length - 1];
    await waitFor(
      () => member.all('message').some((m) => m.offset === lastAck),
      `the member to receive offset ${lastAck}`,
      30_000,
    );
    assert.deepEqual(
      member.all('message').map((m) => m.offset),
      acks,
    );
    await target.withinBounds();
    member.close();
    c.close();
  });

  it('serves a hot lossy room: 100 members, 10 publishers aiming at 50/s each (500/s), all counted', async (t) => {
    const room = 'live:hot';
    const before = await nodeStats(target.server.url);
    const counts: number[] = [];
    const lastOffset: number[] = [];
    const outOfOrder: number[] = [];
    const members = await Promise.all(
      Array.from({ length: 100 }, async (_, k) => {
        counts[k] = 0;
        lastOffset[k] = 0;
        outOfOrder[k] = 0;
        const c = await TestClient.connect(target.server.wsUrl);
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
    // A safety bound only: the loop ends by count (10 x 100); a loaded machine may be slow.
    const deadline = started + 90_000;
    const loopP99: number[] = [];
    const sampler = setInterval(() => {
      void nodeStats(target.server.url).then((s) => loopP99.push(s.eventLoopP99Ms));
    }, 500);
    await Promise.all(
      Array.from({ length: 10 }, async (_, n) => {
        for (let i = 0; i < 100 && Date.now() < deadline; i++) {
          // Through the API, which the per-connection publish rate does not limit.
          const r = await fetch(`${target.server.url}/api/publish`, {
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
    assert.equal(acked, 1000, 'every API publish was accepted');
    // Every delivery ends as received or counted as dropped: wait for the books to balance.
    const accounted = async () => {
      const now = await nodeStats(target.server.url);
      const dropped = (now.drops.slow ?? 0) - (before.drops.slow ?? 0);
      return counts.reduce((a, b) => a + b, 0) + dropped;
    };
    await waitFor(
      async () => (await accounted()) >= acked * members.length,
      'every delivery accounted for',
      30_000,
    );
    const stats = await target.withinBounds();
    const dropped = (stats.drops.slow ?? 0) - (before.drops.slow ?? 0);
    const received = counts.reduce((a, b) => a + b, 0);
    assert.equal(
      outOfOrder.reduce((a, b) => a + b, 0),
      0,
    );
    // Promise of a lossy room: every message reaches every member or is counted as dropped.
    assert.equal(received + dropped, acked * members.length);
    for (const p99 of loopP99) timingGate(p99 < LOOP_P99_BOUND, `event-loop p99 ${p99} ms`);
    for (const c of members) c.close();
  });
});

describe('slowloris on the upgrade (in-process server, shortened window)', () => {
  it('closes 300 slowloris upgrades at the headers timeout while others connect and are served', async () => {
    // A short headers timeout (the default is 10 s, checked every 2.5 s) so the test takes seconds.
    const s = await createServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      store: 'none',
      headersTimeoutMs: 1000,
    });
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
      await waitFor(() => at >= 3, 'the slowloris sockets to have sent a few bytes');
      const fresh = await TestClient.connect(wsUrl);
      assert.equal((await fresh.request({ type: 'ping' })).type, 'pong');
      const during = await medianRtt(probeClient, 5);
      timingGate(during <= latencyBound(base), `probe ${during.toFixed(1)} ms during slowloris`);
      await waitFor(
        () => closedByServer >= slow.length,
        'the server to close every slowloris socket',
        15_000,
      );
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

/**
 * Waits until a ping sent after everything else is answered with a pong (a rate-limited ping is
 * refused at once, so it proves nothing and is sent again once the bucket refills). Commands run
 * in order per connection, so every earlier line has then been answered. The settle pings carry
 * string ids, which the callers' filters of numeric ids leave out.
 */
async function pingAnswered(c: TestClient): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const id = `settle-${attempt}`;
    c.send({ type: 'ping', id });
    const reply = await c.next((m) => m.id === id, 30_000);
    if (reply.type === 'pong') return;
    assert.equal(reply.code, 'rate_limited');
    await sleep(Number(reply.retryAfterMs ?? 50));
  }
  assert.fail('the settle ping was never answered with a pong');
}
