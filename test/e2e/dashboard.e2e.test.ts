import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { type BarrageClient, connect } from '../../client/index.js';
import type { BarrageServer } from '../../src/server/index.js';
import {
  assertPageHeaders,
  ensureSdkBuilt,
  launchBrowser,
  screenshot,
  watchCsp,
  watchErrors,
} from './support/browser.js';
import { startServer, wsUrl } from './support/server.js';

const API_KEY = 'dashboard-test-key';

describe('dashboard in Chromium', () => {
  let server: BarrageServer;
  let browser: Browser;
  const clients: BarrageClient[] = [];
  let traffic: ReturnType<typeof setInterval> | undefined;

  before(async () => {
    ensureSdkBuilt();
    server = await startServer({ apiKey: API_KEY, publishRate: 1000, publishBurst: 1000 });
    browser = await launchBrowser();
    // Real traffic: three viewers in two rooms and a publisher at ~50 messages a second.
    for (let i = 0; i < 4; i++) clients.push(await connect(wsUrl(server), { WebSocket }));
    await clients[0]!.join('live:dash');
    await clients[1]!.join('live:dash');
    await clients[2]!.join('chat:dash');
    let n = 0;
    traffic = setInterval(() => {
      const room = n % 4 === 0 ? 'chat:dash' : 'live:dash';
      for (let i = 0; i < 5; i++) clients[3]!.publish(room, { text: `m${n++}` }).catch(() => {});
    }, 100);
  });
  after(async () => {
    clearInterval(traffic);
    for (const c of clients) c.close();
    await browser?.close();
    await server?.close();
  });

  it('asks for the API key, then charts non-zero traffic per node', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = watchErrors(page);
    const violations = await watchCsp(page);
    const res = await page.goto(`${server.url}/dashboard`);
    // It asks for the API key: no site may frame it, and it runs only its own scripts.
    assertPageHeaders((await res?.allHeaders()) ?? {}, '/dashboard');
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 5000 });
    assert.equal(await page.textContent('#poll'), 'API key needed');

    await page.fill('#key', API_KEY);
    await page.press('#key', 'Enter');
    await page.waitForFunction(() => Number(document.body.dataset.polls) >= 4, null, {
      timeout: 10_000,
    });
    assert.equal(await page.isHidden('#key-form'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('barrage.apiKey')), API_KEY);

    const last = (id: string) =>
      page.evaluate(
        (sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.last),
        `#chart-${id}`,
      );
    const max = (id: string) =>
      page.evaluate(
        (sel) => Number(document.querySelector<HTMLElement>(sel)?.dataset.max),
        `#chart-${id}`,
      );
    assert.ok((await last('connections')) >= 4, 'connections');
    assert.ok((await max('messages-in')) > 10, 'messages in / s');
    assert.ok((await max('messages-out')) > 10, 'messages out / s');
    assert.ok((await max('frames-out')) > 0, 'frames out / s');
    assert.ok((await page.locator('#chart-event-loop').getAttribute('data-max')) !== null);
    // Every chart drew a line for the node.
    const lines = await page.locator('.chart polyline').count();
    assert.ok(lines >= 6, `${lines} lines drawn`);
    // Top rooms: the busy rooms are listed for the node, with their members.
    const rooms = await page.textContent('#rooms');
    assert.match(rooms ?? '', /live:dash/);
    assert.match(rooms ?? '', /chat:dash/);
    assert.match((await page.textContent('#nodes-info')) ?? '', /1 node/);

    assert.deepEqual(await violations(), [], 'no CSP violation');
    await screenshot(page, 'dashboard');
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await page.close();
  });

  it('shows the store panel: kind, write p99, mean batch, queue, refusals, failed commits', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'barrage-dash-store-'));
    const stored = await startServer({ store: 'embedded', dataDir, allowAnonymousPublish: true });
    const author = await connect(wsUrl(stored), { WebSocket });
    try {
      // Acknowledged once committed: the store has written them when these resolve.
      for (let i = 0; i < 5; i++)
        await author.publish('vod:dash', { text: `c${i}` }, { t: i * 1000 });
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors = watchErrors(page);
      await page.goto(`${stored.url}/dashboard`);
      await page.waitForSelector('#store:not([hidden])', { timeout: 10_000 });
      assert.equal(await page.textContent('#s-kind'), 'sqlite');
      assert.equal(await page.getAttribute('#store', 'data-ok'), 'true');
      assert.ok(Number(await page.textContent('#s-batch')) > 0, 'mean batch');
      assert.ok(Number(await page.textContent('#s-write-p99')) > 0, 'write p99');
      assert.match((await page.textContent('#s-queue')) ?? '', /^0 \/ \d/);
      assert.equal(await page.textContent('#s-refused'), '0');
      assert.equal(await page.textContent('#s-errors'), '0');
      await screenshot(page, 'dashboard-store');
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      author.close();
      await stored.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('shows stats at once when the server has no API key (loopback callers only)', async () => {
    const open = await startServer();
    const viewer = await connect(wsUrl(open), { WebSocket });
    try {
      await viewer.join('chat:open');
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors = watchErrors(page);
      await page.goto(`${open.url}/dashboard`);
      await page.waitForFunction(() => Number(document.body.dataset.polls) >= 2, null, {
        timeout: 10_000,
      });
      assert.equal(await page.isHidden('#key-form'), true);
      assert.equal(await page.textContent('#poll'), 'live');
      assert.equal(await page.textContent('#t-connections'), '1');
      assert.match((await page.textContent('#rooms')) ?? '', /chat:open/);
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      viewer.close();
      await open.close();
    }
  });
});
