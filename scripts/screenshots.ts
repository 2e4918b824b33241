/**
 * Regenerates docs/img/demo.png and docs/img/dashboard.png: starts a Barrage server on a free
 * loopback port, drives real traffic through the SDK, and photographs both pages in Chromium.
 *
 *   npx tsx scripts/screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { type BarrageClient, connect } from '../client/index.js';
import { ensureSdkBuilt, launchBrowser, ROOT } from '../test/e2e/support/browser.js';
import { startServer, wsUrl } from '../test/e2e/support/server.js';

const COMMENTS = [
  'first!',
  'this part again 233',
  'so smooth',
  'who is here from the trailer?',
  'GG',
  'that jump tho',
  'lol',
  'the soundtrack is amazing',
  'nice!',
  'hype hype hype',
  '666',
  'replaying this for the 10th time',
  'wow',
  'the sunset scene',
  'clip it!',
  'legend',
  'same time tomorrow?',
  'chat is fast today',
  'hello from Berlin',
  'hi from Osaka',
];
const COLORS = [
  '#ffffff',
  '#ffffff',
  '#ffffff',
  '#ff5252',
  '#ffd740',
  '#69f0ae',
  '#40c4ff',
  '#ff80ab',
];
const OUT = join(ROOT, 'docs', 'img');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  ensureSdkBuilt();
  mkdirSync(OUT, { recursive: true });
  const server = await startServer({
    publishRate: 1000,
    publishBurst: 1000,
    presenceIntervalMs: 200,
  });
  const browser = await launchBrowser();
  const clients: BarrageClient[] = [];
  try {
    for (let i = 0; i < 6; i++) clients.push(await connect(wsUrl(server), { WebSocket }));
    for (const [i, c] of clients.entries()) await c.join(i % 3 === 2 ? 'live:music' : 'live:lobby');
    let n = 0;
    let rate = 10; // publishes per 100 ms tick, ramped for the dashboard
    const tick = setInterval(() => {
      for (let i = 0; i < rate; i++) {
        const room = n % 5 === 0 ? 'live:music' : n % 7 === 0 ? 'chat:general' : 'live:lobby';
        const text = COMMENTS[(n * 7) % COMMENTS.length]!;
        // Spread over the connections: each has its own command rate limit.
        clients[n % clients.length]!.publish(room, {
          text,
          color: COLORS[n % COLORS.length],
        }).catch(() => {});
        n++;
      }
    }, 100);

    // Demo page: a calmer stream so the comments read well.
    rate = 2;
    const demo = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    await demo.goto(`${server.url}/`);
    await demo.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    await sleep(3000); // let the stream fill the stage
    await demo.fill('#text', 'my own comment is outlined');
    await demo.press('#text', 'Enter');
    // Classed comments go through the HTTP API (loopback callers may use it without a key).
    for (const [text, priority] of [
      ['thanks for the stream! (paid)', 'paid'],
      ['highlighted comment', 'highlight'],
    ]) {
      await fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room: 'live:lobby', data: { text, color: '#ffd740' }, priority }),
      });
      await sleep(400);
    }
    await sleep(2800); // until the new comments are mid-stage
    await demo.screenshot({ path: join(OUT, 'demo.png') });

    // Dashboard: traffic that rises over a few seconds, so the charts have a shape.
    const dash = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await dash.goto(`${server.url}/dashboard`);
    for (const r of [4, 8, 12, 16, 24, 24, 20, 28, 32, 26]) {
      rate = r;
      await sleep(1000);
    }
    await dash.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
    clearInterval(tick);
    console.log(`wrote ${join(OUT, 'demo.png')} and ${join(OUT, 'dashboard.png')}`);
  } finally {
    for (const c of clients) c.close();
    await browser.close();
    await server.close();
  }
}

await main();
