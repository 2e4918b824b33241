/**
 * Resource exhaustion against a `barrage serve` process with small caps (see target.ts): connection
 * floods past the per-IP and per-node caps, abandoned handshakes, clients that never read or read
 * slowly.
 *
 * Pass criteria (stated bounds, in target.ts):
 * - caps hold exactly: per IP `PER_IP` (150), per node `MAX_CONN` (400), answered 429 / 503 with
 *   Retry-After past them, and slots come back when connections end, however they end;
 * - the server's RSS grows by less than `RSS_GROWTH_BOUND` (150 MiB) over its baseline;
 * - its event-loop delay p99 (/api/stats eventLoopP99Ms) stays under `LOOP_P99_BOUND` (500 ms);
 * - a probe client's ping stays within 3x its baseline (floored at 20 ms);
 * - well-behaved clients get every message they are promised (reliable rooms: all, in order;
 *   lossy rooms: all but the counted drops).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestClient } from '../support/client.js';
import { upgradeRequest } from '../support/raw.js';
import { waitFor } from '../support/server.js';
import { nodeStats } from './support.js';
import { MAX_CONN, PER_IP, RSS_GROWTH_BOUND, Target } from './target.js';

let target: Target;
before(async () => {
  target = await Target.start();
});
after(async () => {
  await target?.stop();
});

describe('connection caps', () => {
  it(`holds ${PER_IP} per IP under a flood of 2x that (429 + Retry-After), other IPs unaffected`, async () => {
    const results = await Promise.all(
      Array.from({ length: 2 * PER_IP }, () => target.attempt('127.0.0.2')),
    );
    const open = results.filter((r) => r.status === 101).length;
    const refused = results.filter((r) => r.status === 429);
    assert.equal(open, PER_IP);
    assert.equal(refused.length, PER_IP);
    for (const r of refused) assert.ok('retryAfter' in r && Number(r.retryAfter) > 0);
    const other = await target.attempt('127.0.0.3');
    assert.equal(other.status, 101);
    await target.closeAll([...results, other]);
    await target.connectionsDropTo(1);
    // Slots came back: the same IP can fill its quota again.
    const again = await Promise.all(
      Array.from({ length: PER_IP }, () => target.attempt('127.0.0.2')),
    );
    assert.equal(again.filter((r) => r.status === 101).length, PER_IP);
    await target.closeAll(again);
    await target.connectionsDropTo(1);
    await target.withinBounds();
  });

  it(`holds ${MAX_CONN} per node across many IPs (503 + Retry-After past it)`, async () => {
    const before = (await nodeStats(target.server.url)).connections;
    const ips = Array.from({ length: 5 }, (_, i) => `127.0.0.${20 + i}`);
    const results = await Promise.all(
      Array.from({ length: MAX_CONN + 50 }, (_, i) => target.attempt(ips[i % ips.length]!)),
    );
    const open = results.filter((r) => r.status === 101).length;
    assert.equal(open, MAX_CONN - before);
    const full = results.filter((r) => r.status === 503);
    assert.equal(full.length, results.length - open);
    for (const r of full) assert.ok('retryAfter' in r && Number(r.retryAfter) > 0);
    assert.equal((await nodeStats(target.server.url)).connections, MAX_CONN);
    await target.closeAll(results);
    await target.connectionsDropTo(before);
    await target.withinBounds();
  });

  it('releases the slot of every handshake abandoned half-way (500 of them)', async () => {
    await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = connect({
              port: target.server.port,
              host: '127.0.0.1',
              localAddress: '127.0.0.4',
            });
            s.on('error', () => resolve());
            s.on('close', () => resolve());
            const request = upgradeRequest({ Host: `127.0.0.1:${target.server.port}` });
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
    await target.connectionsDropTo(1);
    const again = await Promise.all(
      Array.from({ length: PER_IP }, () => target.attempt('127.0.0.4')),
    );
    assert.equal(again.filter((r) => r.status === 101).length, PER_IP);
    await target.closeAll(again);
    await target.connectionsDropTo(1);
    await target.withinBounds();
  });
});

describe('clients that never read or read slowly', () => {
  it('closes never-readers of a reliable room with 4008, memory bounded; a reader gets every message in order', async () => {
    const room = 'chat:hot';
    const before = await nodeStats(target.server.url);
    const stalled = await Promise.all(Array.from({ length: 5 }, () => target.stalledMember(room)));
    const reader = await TestClient.connect(target.server.wsUrl);
    await reader.request({ type: 'join', room });
    // The kernel absorbs tens of MB per loopback socket before the server's own buffer grows,
    // so publish 60 KB messages until all five are cut off (bounded: at most 1500, ~90 MB each).
    const offsets: number[] = [];
    let closed = 0;
    for (let batch = 0; batch < 75 && closed < stalled.length; batch++) {
      offsets.push(...(await target.apiPublish(room, 20, 60_000)));
      const s = await nodeStats(target.server.url);
      closed = (s.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0);
      assert.ok(
        s.rssBytes - target.baseRss < RSS_GROWTH_BOUND,
        `RSS ${s.rssBytes} at batch ${batch}`,
      );
    }
    // A close is counted when the socket ends: up to the close grace (2 s) after the server closed
    // it, since the close frame waits behind the unread bytes. A fast machine publishes all of
    // the above within that time.
    await waitFor(
      async () => {
        const s = await nodeStats(target.server.url);
        closed = (s.closes['4008'] ?? 0) - (before.closes['4008'] ?? 0);
        return closed >= stalled.length;
      },
      'the never-readers closed',
      15_000,
    );
    assert.equal(closed, stalled.length, 'every never-reader was closed with 4008');
    await reader.next((m) => m.type === 'message' && m.offset === offsets.at(-1), 15_000);
    assert.deepEqual(
      reader.all('message').map((m) => m.offset),
      [...offsets].sort((a, b) => a - b),
    );
    await target.withinBounds();
    reader.close();
    for (const s of stalled) s.destroy();
  });

  it('skips lossy messages for slow readers and counts every skip; a fast reader gets all', async () => {
    const room = 'live:slow';
    const before = await nodeStats(target.server.url);
    // Two readers that take in at most ~1 MB/s, counting messages as they come and checking order.
    const slow = await Promise.all(Array.from({ length: 2 }, () => target.stalledMember(room)));
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
    const fast = await TestClient.connect(target.server.wsUrl);
    await fast.request({ type: 'join', room });
    // Publish 60 KB messages until the slow readers fall behind far enough to lose some
    // (the kernel first absorbs tens of MB per socket); bounded at 1500 messages.
    const offsets: number[] = [];
    let dropped = 0;
    for (let batch = 0; batch < 75 && dropped === 0; batch++) {
      offsets.push(...(await target.apiPublish(room, 20, 60_000)));
      dropped = ((await nodeStats(target.server.url)).drops.slow ?? 0) - (before.drops.slow ?? 0);
    }
    assert.ok(dropped > 0, 'the slow readers fell behind and lost something');
    await fast.next((m) => m.type === 'message' && m.offset === offsets.at(-1), 15_000);
    assert.equal(fast.all('message').length, offsets.length);
    // Drain at full speed until every message to every slow member is read or counted dropped.
    for (const stop of unthrottle) stop();
    const expected = offsets.length * slow.length;
    const read = () => seen.reduce((n, s) => n + s.count, 0);
    const droppedNow = async () =>
      ((await nodeStats(target.server.url)).drops.slow ?? 0) - (before.drops.slow ?? 0);
    await waitFor(
      async () => read() + (await droppedNow()) >= expected,
      'the slow readers to read or lose every message',
      30_000,
    );
    const stats = await target.withinBounds();
    dropped = (stats.drops.slow ?? 0) - (before.drops.slow ?? 0);
    const last = read();
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
