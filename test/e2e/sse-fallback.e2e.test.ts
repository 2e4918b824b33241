import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { BarrageServer } from '../../src/server/index.js';
import { ensureSdkBuilt, launchBrowser, watchErrors } from './support/browser.js';
import { startServer } from './support/server.js';

/**
 * A page where WebSocket cannot connect (as behind a proxy that blocks upgrades): every socket
 * closes before it opens, and the browser says no more than that. Counts the attempts.
 */
const BLOCK_WEBSOCKET = `
  window.__wsAttempts = 0;
  window.WebSocket = class BlockedWebSocket {
    constructor() {
      window.__wsAttempts++;
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 3;
        this.onerror && this.onerror(new Event('error'));
        this.onclose && this.onclose({ code: 1006, reason: '' });
      }, 10);
    }
    send() { throw new Error('not open'); }
    close() {}
  };
`;

describe('demo page in Chromium with WebSocket blocked', () => {
  let server: BarrageServer;
  let browser: Browser;

  before(async () => {
    ensureSdkBuilt();
    server = await startServer({ presenceIntervalMs: 200 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const openBlocked = async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(BLOCK_WEBSOCKET);
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
    return { page, errors };
  };

  const transportOf = (page: Page) =>
    page.evaluate(() => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
      const w = window as any; // any: plain-JS page objects
      return { transport: w.barrageDemo.client.transport as string, tried: w.__wsAttempts };
    });

  it('falls back to SSE and comments still fly from one page to another', async () => {
    const a = await openBlocked();
    const b = await openBlocked();
    assert.deepEqual(await transportOf(a.page), { transport: 'sse', tried: 1 });
    assert.equal((await transportOf(b.page)).transport, 'sse');
    const text = `over SSE ${Date.now()}`;
    await a.page.fill('#text', text);
    await a.page.press('#text', 'Enter');
    await b.page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
      text,
      { timeout: 5000 },
    );
    // The page's own copy flies too: the POSTed comment came back on its stream.
    await a.page.waitForFunction(
      (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
      text,
      { timeout: 5000 },
    );
    assert.equal(Number(await b.page.textContent('#online')), 2, 'both pages counted online');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    await a.page.close();
    await b.page.close();
  });
});
