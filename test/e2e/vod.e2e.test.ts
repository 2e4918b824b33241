/**
 * The /vod page in Chromium (issue 12): a comment posted at 0:42 in one window appears at 0:42
 * when another window plays through that time or seeks there, live or loaded from the store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { BarrageServer } from '../../src/server/index.js';
import {
  assertPageHeaders,
  ensureSdkBuilt,
  launchBrowser,
  screenshot,
  watchCsp,
  watchErrors,
} from './support/browser.js';
import { startServer } from './support/server.js';

const ROOM = 'vod:e2e';

interface Shown {
  id: string;
  t: number;
  text: string;
  at: number;
}

/** What the page has shown so far (window.barrageVod.shown). */
function shownOf(page: Page): Promise<Shown[]> {
  // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
  return page.evaluate(() => (window as any).barrageVod.shown as Shown[]); // any: plain-JS page
}

/** Calls a method of the page's timeline (seek, play, pause). */
function control(page: Page, method: string, arg?: number): Promise<void> {
  return page.evaluate(
    // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
    ([m, a]) => (window as any).barrageVod.timeline[m as string](a), // any: plain-JS page
    [method, arg] as const,
  );
}

describe('/vod page in Chromium', () => {
  let server: BarrageServer;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'barrage-vod-'));

  before(async () => {
    ensureSdkBuilt();
    server = await startServer({ store: 'embedded', dataDir: dir });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors = watchErrors(page);
    const violations = await watchCsp(page);
    const res = await page.goto(`${server.url}/vod?room=${ROOM}`);
    assertPageHeaders((await res?.allHeaders()) ?? {}, '/vod');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    return { page, errors, violations };
  };

  it('a comment posted at 0:42 appears at 0:42 in another window, live and after a seek', async () => {
    const a = await open();
    const b = await open();
    await control(a.page, 'seek', 42_000);
    const text = `at 0:42 ${Date.now()}`;
    await a.page.fill('#text', text);
    await a.page.press('#text', 'Enter');
    // The author sees it at once, at its playhead.
    await a.page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('.layer .c')).some((e) => e.textContent === t),
      text,
    );

    // B was watching elsewhere: it plays through 0:42 and sees the comment then.
    await control(b.page, 'seek', 41_000);
    await control(b.page, 'play');
    await b.page.waitForFunction(
      // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
      (t) => (window as any).barrageVod.shown.some((s: Shown) => s.text === t), // any: plain-JS page
      text,
      { timeout: 10_000 },
    );
    const seen = (await shownOf(b.page)).find((s) => s.text === text)!;
    assert.equal(seen.t, 42_000);
    assert.ok(seen.at >= 42_000, `not before its time: shown at ${seen.at}`);
    assert.ok(seen.at < 43_000, `at its time: shown at ${seen.at}`);
    await screenshot(b.page, 'vod-comment');

    // A window opened later loads it from the store and shows it when it seeks there.
    const c = await open();
    await control(c.page, 'seek', 41_800);
    await control(c.page, 'play');
    await c.page.waitForFunction(
      // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
      (t) => (window as any).barrageVod.shown.some((s: Shown) => s.text === t), // any: plain-JS page
      text,
      { timeout: 10_000 },
    );
    const late = (await shownOf(c.page)).find((s) => s.text === text)!;
    assert.ok(late.at >= 42_000 && late.at < 43_000, `shown at ${late.at}`);
    // Seeking past it and back shows it again; pausing before it does not.
    await control(c.page, 'pause');
    await control(c.page, 'seek', 30_000);
    const before = (await shownOf(c.page)).filter((s) => s.text === text).length;
    await c.page.waitForTimeout(300);
    assert.equal((await shownOf(c.page)).filter((s) => s.text === text).length, before);
    assert.deepEqual([...a.errors, ...b.errors, ...c.errors], []);
    for (const w of [a, b, c]) assert.deepEqual(await w.violations(), [], 'no CSP violation');
    for (const p of [a, b, c]) await p.page.close();
  });

  it('never renders comment text as HTML', async () => {
    const a = await open();
    await control(a.page, 'seek', 100_000);
    await a.page.fill('#text', '<img src=x onerror="window.pwned=1">');
    await a.page.press('#text', 'Enter');
    await a.page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.layer .c')).some((e) =>
        e.textContent?.startsWith('<img'),
      ),
    );
    // biome-ignore lint/suspicious/noExplicitAny: probing for an injected global
    assert.equal(await a.page.evaluate(() => (window as any).pwned), undefined); // any: probe
    assert.equal(await a.page.locator('.layer img').count(), 0);
    await a.page.close();
  });
});
