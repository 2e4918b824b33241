/**
 * A hot danmaku room at 8x its members' render budget, with one flooder: members that joined
 * with `budget: 50` get a fair sample, and every message left out is accounted for.
 *
 * Pass criteria, per member: messages received + the counts of its `skipped` lines = messages
 * published (nothing vanishes); at most the budget a second (plus one window of slack) is
 * shown; a quiet sender is not crowded out by the flooder (>= 75% of its messages shown, and a
 * share of its messages at least 5x the flooder's). Over all members: the `skipped` counts equal
 * `barrage_drops_total{reason="sampled"}`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { TestClient } from '../support/client.js';
import { startServer, waitFor } from '../support/server.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import { metricSum, metrics, sleep } from './support.js';

type Server = Awaited<ReturnType<typeof startServer>>;

const ROOM = 'live:budget';
const BUDGET = 50;

interface Tally {
  received: number;
  skipped: number;
  quiet: number;
  perSecond: Map<number, number>;
}

/** A member that joins with a budget and tallies what it is shown and told it missed. */
async function member(server: Server, token: string): Promise<{ ws: WebSocket; tally: Tally }> {
  const ws = new WebSocket(`${server.wsUrl}?token=${token}`, { perMessageDeflate: false });
  const tally: Tally = { received: 0, skipped: 0, quiet: 0, perSecond: new Map() };
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      for (const line of String(data).split('\n')) {
        if (line === '') continue;
        const m = JSON.parse(line) as Record<string, unknown>;
        if (m.type === 'welcome')
          ws.send(JSON.stringify({ type: 'join', room: ROOM, budget: BUDGET }));
        else if (m.type === 'joined') resolve();
        else if (m.type === 'ping') ws.send('{"type":"pong"}');
        else if (m.type === 'skipped' && m.room === ROOM) tally.skipped += m.count as number;
        else if (m.type === 'message' && m.room === ROOM) {
          tally.received++;
          if (m.from === 'quiet') tally.quiet++;
          const second = Math.floor(Date.now() / 1000);
          tally.perSecond.set(second, (tally.perSecond.get(second) ?? 0) + 1);
        }
      }
    });
  });
  return { ws, tally };
}

/** Publishes `count` messages at about `rate` a second, 50 ms ticks; returns how many were ok. */
async function publishAt(server: Server, user: string, rate: number, count: number) {
  const c = await TestClient.connect(`${server.wsUrl}?token=${await signToken(user)}`);
  let ok = 0;
  let sent = 0;
  const started = Date.now();
  for (let tick = 1; sent < count && tick < 10_000; tick++) {
    const due = Math.min(count, Math.round((rate * tick) / 20));
    const batch: Promise<Record<string, unknown>>[] = [];
    for (; sent < due; sent++) batch.push(c.request({ type: 'publish', room: ROOM, data: sent }));
    for (const r of await Promise.all(batch)) if (r.type === 'ok') ok++;
    await sleep(Math.max(0, started + tick * 50 - Date.now()));
  }
  c.close();
  return ok;
}

describe('a hot room at 8x the render budget', () => {
  let server: Server;
  before(async () => {
    server = await startServer({
      jwtSecret: TEST_SECRET,
      publishRate: 10_000,
      publishBurst: 10_000,
      commandRate: 10_000,
      commandBurst: 10_000,
    });
  });
  after(async () => server.close());

  it('shows each member a fair sample within its budget and accounts for every message', async (t) => {
    const sampledBefore = metricSum(
      await metrics(server.url),
      'barrage_drops_total',
      'reason="sampled"',
    );
    const members = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => member(server, await signToken(`viewer${i}`))),
    );
    const [flood, quiet] = await Promise.all([
      publishAt(server, 'flooder', 380, 1140),
      publishAt(server, 'quiet', 20, 60),
    ]);
    assert.equal(flood + quiet, 1200, 'every publish accepted');
    // Each member's books close when every message is shown or counted in a `skipped` line.
    await waitFor(
      () => members.every(({ tally }) => tally.received + tally.skipped >= 1200),
      'every member to account for all 1200 messages',
      15_000,
    );
    const sampled =
      metricSum(await metrics(server.url), 'barrage_drops_total', 'reason="sampled"') -
      sampledBefore;
    let skippedTotal = 0;
    for (const { tally } of members) {
      assert.equal(tally.received + tally.skipped, 1200, 'shown + skipped = published');
      const busiest = Math.max(...tally.perSecond.values());
      assert.ok(busiest <= BUDGET * 1.5 + 20, `${busiest} shown in one second (budget ${BUDGET})`);
      // Fair share: the quiet sender (20/s, under half the budget) is mostly shown; the flooder
      // (380/s) gets what is left.
      assert.ok(tally.quiet >= 45, `only ${tally.quiet} of the quiet sender's 60 shown`);
      const floodShown = (tally.received - tally.quiet) / 1140;
      assert.ok(tally.quiet / 60 >= 5 * floodShown, `quiet ${tally.quiet}/60, flood ${floodShown}`);
      skippedTotal += tally.skipped;
    }
    const shown = members.map((m) => m.tally.received);
    t.diagnostic(
      `shown per member ${Math.min(...shown)}-${Math.max(...shown)} of 1200; quiet sender ${Math.min(...members.map((m) => m.tally.quiet))}+ of 60; sampled drops ${sampled}`,
    );
    assert.equal(skippedTotal, sampled, 'skipped lines = drops{reason="sampled"}');
    for (const { ws } of members) ws.close();
  });
});
