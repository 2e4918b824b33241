import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { type BarrageClient, connect } from '../../client/index.js';
import type { BarrageServer } from '../../src/server/index.js';
import { timingGate } from '../support/timing.js';
import {
  assertPageHeaders,
  ensureSdkBuilt,
  launchBrowser,
  ROOT,
  screenshot,
  watchCsp,
  watchErrors,
} from './support/browser.js';
import { startServer, wsUrl } from './support/server.js';

const ROOM = 'live:lobby';

/** Reads the demo page's state through the objects it exposes on `window.barrageDemo`. */
function demoState(page: Page) {
  return page.evaluate(() => {
    // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
    const d = (window as any).barrageDemo; // any: plain-JS page object
    return {
      status: document.getElementById('status')?.dataset.state ?? '',
      online: Number(document.getElementById('online')?.textContent),
      reconnects: d.state.reconnects as number,
      longTasks: d.state.longTasks as number,
      stats: { ...d.stage.stats } as Record<string, number>,
      // Each flying comment's lane (its y) and its span on the x axis.
      spans: d.stage.active.map((a: { x: number; w: number; y: number }) => [a.y, a.x, a.x + a.w]),
    };
  });
}

/** Comments in one lane never overlap: sorted by x, each starts after the previous ends. */
function overlaps(spans: number[][]): number {
  const byLane = new Map<number, number[][]>();
  for (const s of spans) byLane.set(s[0]!, [...(byLane.get(s[0]!) ?? []), s]);
  let bad = 0;
  for (const lane of byLane.values()) {
    lane.sort((a, b) => a[1]! - b[1]!);
    for (let i = 1; i < lane.length; i++) if (lane[i]![1]! < lane[i - 1]![2]! - 0.5) bad++;
  }
  return bad;
}

describe('demo page in Chromium', () => {
  let server: BarrageServer;
  let browser: Browser;
  let port = 0;
  const nodeClients: BarrageClient[] = [];
  const options = { presenceIntervalMs: 200 };

  before(async () => {
    ensureSdkBuilt();
    server = await startServer(options);
    port = server.port;
    browser = await launchBrowser();
  });
  after(async () => {
    for (const c of nodeClients) c.close();
    await browser?.close();
    await server?.close();
  });

  const openDemo = async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    return { page, errors };
  };

  it('connects and shows the room with its online count', async () => {
    const { page, errors } = await openDemo();
    const s = await demoState(page);
    assert.equal(s.status, 'open');
    assert.equal(s.online, 1);
    assert.equal(await page.inputValue('#room'), ROOM);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('runs under its strict CSP: the header is there, nothing is refused, inline script is', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    const violations = await watchCsp(page);
    const res = await page.goto(`${server.url}/`);
    assertPageHeaders((await res?.allHeaders()) ?? {}, '/');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    // Post a comment: the page's fetch, its WebSocket and its rendering all ran under the policy.
    await page.fill('#text', 'under the policy');
    await page.press('#text', 'Enter');
    await page.waitForFunction(() => document.body.textContent?.includes('under the policy'));
    // The page's own API call (same origin, no key on this server) is let through.
    const status = await page.evaluate(async () => {
      const body = JSON.stringify({ room: 'live:csp', data: 1 });
      const headers = { 'content-type': 'application/json' };
      return (await fetch('/api/publish', { method: 'POST', headers, body })).status;
    });
    assert.equal(status, 200);
    assert.deepEqual(await violations(), []);
    assert.deepEqual(errors, []);
    // The policy is enforced, and the watch sees it: an injected inline script does not run.
    await assert.rejects(page.addScriptTag({ content: 'window.inlineRan = true' }));
    assert.equal(
      await page.evaluate(() => (window as { inlineRan?: boolean }).inlineRan),
      undefined,
    );
    assert.ok((await violations()).some((v) => v.startsWith('script-src')));
    await page.close();
  });

  it('flies a comment posted in one page across another page', async () => {
    const a = await openDemo();
    const b = await openDemo();
    const text = `hello from A ${Date.now()}`;
    await a.page.fill('#text', text);
    await a.page.press('#text', 'Enter');
    const xOf = () =>
      b.page.evaluate((t) => {
        // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
        const d = (window as any).barrageDemo; // any: plain-JS page object
        return d.stage.active.find((c: { text: string }) => c.text === t)?.x as number | undefined;
      }, text);
    await b.page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
      text,
      { timeout: 5000 },
    );
    const x1 = await xOf();
    await b.page.waitForTimeout(500);
    const x2 = await xOf();
    assert.ok(x1 !== undefined && x2 !== undefined, 'the comment is on the stage');
    assert.ok(x2 < x1 - 20, `it moves left: ${x1} -> ${x2}`);
    // The sender sees its own comment, outlined.
    await a.page.waitForSelector('.dm.mine', { timeout: 5000 });
    await screenshot(b.page, 'demo-comment');
    assert.deepEqual([...a.errors, ...b.errors], []);
    await a.page.close();
    await b.page.close();
  });

  it('updates the online count as pages open and close', async () => {
    const a = await openDemo();
    const b = await openDemo();
    await a.page.waitForFunction(() => document.getElementById('online')?.textContent === '2');
    const c = await openDemo();
    await a.page.waitForFunction(() => document.getElementById('online')?.textContent === '3');
    await c.page.close();
    await b.page.close();
    await a.page.waitForFunction(() => document.getElementById('online')?.textContent === '1');
    assert.equal((await demoState(a.page)).online, 1);
    await a.page.close();
  });

  it('switches rooms: leaves the old one and shows only the new one', async () => {
    const { page, errors } = await openDemo();
    const publisher = await connect(wsUrl(server), { WebSocket });
    nodeClients.push(publisher);
    await page.fill('#room', 'live:music');
    await page.press('#room', 'Enter');
    await page.waitForFunction(() => location.search === '?room=live%3Amusic');
    await page.waitForFunction(() => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
      const d = (window as any).barrageDemo; // any: plain-JS page object
      return d.state.sub?.room === 'live:music';
    });
    await publisher.publish(ROOM, { text: 'for the lobby only' });
    await publisher.publish('live:music', { text: 'for the music room' });
    await page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
      'for the music room',
      { timeout: 5000 },
    );
    const texts: string[] = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.dm')).map((e) => e.textContent ?? ''),
    );
    assert.ok(!texts.includes('for the lobby only'), 'the old room is left');
    assert.equal((await demoState(page)).online, 1);
    const rooms = await page.evaluate(() => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
      return (window as any).barrageDemo.client.rooms() as string[]; // any: plain-JS page object
    });
    assert.deepEqual(rooms, ['live:music']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('stays smooth under a 200 comments/s flood, without overlaps in a lane', async (t) => {
    const { page, errors } = await openDemo();
    const before = await demoState(page);
    await page.selectOption('#flood-rate', '200');
    await page.click('#flood');
    let worst = 0;
    const fps: number[] = [];
    const work: number[] = [];
    let workMax = 0;
    for (let i = 0; i < 8; i++) {
      await page.waitForTimeout(500);
      const s = await demoState(page);
      worst = Math.max(worst, overlaps(s.spans));
      if (i >= 2 && i % 2 === 0) {
        fps.push(s.stats.fps!);
        work.push(s.stats.workMs!);
        workMax = Math.max(workMax, s.stats.workMaxMs!);
      }
      assert.ok(s.stats.onScreen! <= 300, 'the on-screen cap holds');
    }
    const after = await demoState(page);
    await screenshot(page, 'demo-flood');
    const received = after.stats.received! - before.stats.received!;
    const longTasks = after.longTasks - before.longTasks;
    const meanFps = fps.reduce((a, b) => a + b, 0) / fps.length;
    const meanWork = work.reduce((a, b) => a + b, 0) / work.length;
    t.diagnostic(
      `received ${received}, shown ${after.stats.shown}, fps ${fps.join('/')}, ` +
        `stage work ${meanWork.toFixed(2)} ms/frame (max ${workMax.toFixed(1)}), long tasks ${longTasks}`,
    );
    assert.ok(received >= 200, `received ${received} comments`);
    assert.ok(after.stats.sampled! > 0, 'a flood is sampled, not queued without end');
    assert.equal(worst, 0, 'no two comments overlap in a lane');
    // The stage's own work per frame must stay a small part of a 16.7 ms frame (about 0.4 ms on
    // an idle machine); frame rate and long tasks depend on the machine's load too (2 shared
    // cores, other suites running). They are timing figures: asserted only with
    // BARRAGE_TIMING_GATES=1, reported as a diagnostic always.
    assert.ok(fps.length > 0 && fps.every((f) => f > 0), `the page kept rendering: ${fps}`);
    timingGate(meanWork < 4, `the stage works ${meanWork.toFixed(2)} ms per frame`);
    timingGate(meanFps >= 10, `mean fps ${meanFps.toFixed(0)}`);
    timingGate(longTasks <= 25, `${longTasks} long tasks in 4 s`);
    await page.waitForFunction(() =>
      /\d+ sent/.test(document.getElementById('flood-status')?.textContent ?? ''),
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('declares a render budget, shows what the server skipped, and never drops paid comments', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${server.url}/?room=live:budget&budget=10`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    const publishers: BarrageClient[] = [];
    for (let i = 0; i < 5; i++) publishers.push(await connect(wsUrl(server), { WebSocket }));
    nodeClients.push(...publishers);
    // About 80 comments a second for 2 s, eight times the page's budget.
    for (let i = 0; i < 160; i++) {
      void publishers[i % 5]!.publish('live:budget', { text: `budget ${i}` }).catch(() => {});
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        room: 'live:budget',
        data: { text: 'thanks for the stream!' },
        priority: 'paid',
      }),
    });
    assert.equal(res.status, 200);
    await page.waitForSelector('.dm.paid', { timeout: 5000 });
    assert.equal(await page.textContent('.dm.paid'), 'thanks for the stream!');
    await page.waitForFunction(
      () => Number(document.getElementById('s-skipped')?.textContent) > 0,
      null,
      {
        timeout: 5000,
      },
    );
    const s = await demoState(page);
    assert.ok(s.stats.received! < 120, `received ${s.stats.received} of 161 with a budget of 10/s`);
    await screenshot(page, 'demo-budget');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('runs the browser example of client/README.md as written', async () => {
    const readme = readFileSync(join(ROOT, 'client', 'README.md'), 'utf8');
    const html = readme.slice(
      readme.indexOf('```html\n') + 8,
      readme.indexOf('\n```', readme.indexOf('```html\n')),
    );
    const code = html.replace(/^\s*<script type="module">/, '').replace(/<\/script>\s*$/, '');
    // Run in a page of the server, whose CSP refuses inline scripts: the snippet is loaded as a
    // module file of the server's origin, as a page under web/ would (client/README.md says so).
    const { page, errors } = await openDemo();
    await page.route(`${server.url}/readme-example.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: code }),
    );
    const logs: string[] = [];
    page.on('console', (msg) => logs.push(msg.text()));
    await page.addScriptTag({ type: 'module', url: `${server.url}/readme-example.js` });
    const deadline = Date.now() + 5000;
    while (!logs.includes('message hi from the browser') && Date.now() < deadline) {
      await page.waitForTimeout(50);
    }
    assert.ok(logs.includes('message hi from the browser'), logs.join(' | '));
    assert.ok(logs.includes('state open'));
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('recovers after the server restarts', async () => {
    const { page } = await openDemo();
    await server.close();
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state !== 'open');
    server = await startServer({ ...options, port });
    await page.waitForFunction(
      () => document.getElementById('status')?.dataset.state === 'open',
      null,
      {
        timeout: 15_000,
      },
    );
    const publisher = await connect(wsUrl(server), { WebSocket });
    nodeClients.push(publisher);
    const text = `after restart ${Date.now()}`;
    // The page rejoins right after it reconnects; publish until it has shown the comment.
    let shown = false;
    for (let i = 0; i < 20 && !shown; i++) {
      await publisher.publish(ROOM, { text, color: '#ffd740' });
      shown = await page
        .waitForFunction(
          (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
          text,
          { timeout: 500 },
        )
        .then(
          () => true,
          () => false,
        );
    }
    assert.ok(shown, 'a comment published after the restart reached the page');
    const s = await demoState(page);
    assert.equal(s.status, 'open');
    assert.ok(s.reconnects >= 1);
    await page.close();
  });
});
