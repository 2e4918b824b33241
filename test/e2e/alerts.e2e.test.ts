/**
 * Alerts in the pages (docs/alerts.md), in real Chromium against a real server with the embedded
 * store: two demo pages signed in as the same user (?token=) show the bell; a stored push makes
 * the count 1 on both, opening the bell in one reads it and clears the other; the dashboard shows
 * the alert counters.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { BarrageServer } from '../../src/server/index.js';
import { signToken, TEST_SECRET } from '../support/tokens.js';
import {
  ensureSdkBuilt,
  launchBrowser,
  screenshot,
  watchCsp,
  watchErrors,
} from './support/browser.js';
import { startServer } from './support/server.js';

/** The bell's count as the page shows it: 0 when the badge is hidden. */
function bellCount(page: Page): Promise<number> {
  return page.evaluate(() => {
    const badge = document.getElementById('bell-count');
    return !badge || badge.hidden ? 0 : Number(badge.textContent);
  });
}

describe('alerts in the demo page and the dashboard (Chromium)', () => {
  let server: BarrageServer;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-alerts-e2e-'));

  before(async () => {
    ensureSdkBuilt();
    server = await startServer({ store: 'embedded', dataDir: dir, jwtSecret: TEST_SECRET });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const openDemo = async (token: string) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    const violations = await watchCsp(page);
    await page.goto(`${server.url}/?token=${token}`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    await page.waitForSelector('#bell:not([hidden])', { timeout: 5000 });
    return { page, errors, violations };
  };

  const storePush = async (userId: string, text: string) => {
    const res = await fetch(`${server.url}/api/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, event: 'order', data: { text }, persist: true }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  it('counts a stored push on both pages of the user; reading it in one clears the other', async () => {
    const token = await signToken('alice');
    const a = await openDemo(token);
    const b = await openDemo(token);
    assert.equal(await bellCount(a.page), 0);
    await storePush('alice', 'your order shipped');
    for (const { page } of [a, b]) {
      await page.waitForFunction(
        () => document.getElementById('bell-count')?.textContent === '1',
        null,
        { timeout: 5000 },
      );
    }
    assert.equal(await bellCount(a.page), 1);
    assert.equal(await bellCount(b.page), 1);
    // Opening the bell in A lists the alert and reads it: the server's `read` clears both.
    await a.page.click('#bell');
    assert.match((await a.page.textContent('#bell-list')) ?? '', /your order shipped/);
    await screenshot(a.page, 'alerts-bell');
    for (const { page } of [a, b]) {
      await page.waitForFunction(
        () => document.getElementById('bell-count')?.hidden === true,
        null,
        {
          timeout: 5000,
        },
      );
    }
    assert.equal(await bellCount(b.page), 0);
    // A page opened now starts from the inbox: nothing unread.
    const c = await openDemo(token);
    await c.page.waitForFunction(
      () =>
        (window as { barrageDemo?: { bell: { reloads: number } } }).barrageDemo?.bell.reloads === 1,
    );
    assert.equal(await bellCount(c.page), 0);
    for (const p of [a, b, c]) {
      assert.deepEqual(await p.violations(), [], 'no CSP violation');
      assert.deepEqual(p.errors, []);
      await p.page.close();
    }
  });

  it('shows alerts stored while the page was closed, and no bell without a user', async () => {
    await storePush('bob', 'one');
    await storePush('bob', 'two');
    const bob = await openDemo(await signToken('bob'));
    await bob.page.waitForFunction(
      () => document.getElementById('bell-count')?.textContent === '2',
    );
    const anon = await browser.newPage();
    await anon.goto(`${server.url}/`);
    await anon.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    assert.equal(await anon.isHidden('#bell'), true);
    assert.deepEqual(bob.errors, []);
    await bob.page.close();
    await anon.close();
  });

  it('shows stored, delivered, acknowledged, expired and dropped alerts on the dashboard', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors = watchErrors(page);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#alerts:not([hidden])', { timeout: 10_000 });
    const value = (id: string) =>
      page.evaluate((sel) => Number(document.getElementById(sel)?.textContent), id);
    // From the tests above: 3 stored (alice 1, bob 2), delivered live to 2 pages, 1 read.
    await page.waitForFunction(() => Number(document.getElementById('a-stored')?.textContent) >= 3);
    assert.ok((await value('a-stored')) >= 3);
    assert.ok((await value('a-delivered')) >= 2);
    assert.ok((await value('a-acked')) >= 1);
    assert.equal(await value('a-expired'), 0);
    assert.equal(await value('a-dropped'), 0);
    await screenshot(page, 'alerts-dashboard');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
