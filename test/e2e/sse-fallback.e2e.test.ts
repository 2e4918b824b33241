import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { BarrageServer } from '../../src/server/index.js';
import { BufferingProxy } from '../support/buffering-proxy.js';
import { ensureSdkBuilt, launchBrowser, watchErrors } from './support/browser.js';
import { startServer, TcpProxy, waitFor } from './support/server.js';

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

describe('Chromium behind a proxy that does not carry WebSocket', () => {
  let server: BarrageServer;
  let proxy: BufferingProxy;
  let browser: Browser;

  before(async () => {
    ensureSdkBuilt();
    server = await startServer({ presenceIntervalMs: 200 });
    // A plain HTTP proxy: upgrades answered 403, streams passed as X-Accel-Buffering asks.
    proxy = await BufferingProxy.start(server.port, {
      bufferBytes: 4096,
      honourAccelBuffering: true,
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  it('keeps the demo page working: the browser WebSocket is refused, the SDK uses SSE, comments fly', async () => {
    const open = async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors = watchErrors(page);
      await page.goto(`${proxy.url}/`);
      await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'open');
      return { page, errors };
    };
    const a = await open();
    const b = await open();
    const transport = (page: Page) =>
      page.evaluate(() => {
        // biome-ignore lint/suspicious/noExplicitAny: the page's own debugging handle
        return (window as any).barrageDemo.client.transport as string; // any: plain-JS page object
      });
    assert.equal(await transport(a.page), 'sse');
    assert.equal(await transport(b.page), 'sse');
    assert.ok(
      proxy.upgradesRefused.length >= 2,
      'the real browser WebSocket was tried and refused',
    );
    const text = `through the proxy ${Date.now()}`;
    await a.page.fill('#text', text);
    await a.page.press('#text', 'Enter');
    for (const p of [a.page, b.page]) {
      await p.waitForFunction(
        (t) => Array.from(document.querySelectorAll('.dm')).some((e) => e.textContent === t),
        text,
        { timeout: 5000 },
      );
    }
    // The browser logs the refused upgrade itself; nothing else may fail on the page.
    const unexpected = (errors: string[]) => errors.filter((e) => !/WebSocket/.test(e));
    assert.deepEqual(unexpected(a.errors), []);
    assert.deepEqual(unexpected(b.errors), []);
    await a.page.close();
    await b.page.close();
  });
});

describe("the browser's own EventSource on /sse", () => {
  let server: BarrageServer;
  let proxy: TcpProxy;
  let browser: Browser;

  before(async () => {
    server = await startServer({ reconnectDelayMs: 200, historySize: 20 });
    proxy = await TcpProxy.start(server.port);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  const publish = (data: unknown) =>
    fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'chat:native', data }),
    }).then((r) => r.json() as Promise<{ offset: number }>);
  const online = async () => {
    const r = await fetch(`${server.url}/api/rooms/chat:native`);
    return ((await r.json()) as { online: number }).online;
  };

  it('receives events and recovers what it missed through Last-Event-ID after a cut', async () => {
    const page = await browser.newPage();
    // Same origin as the stream: any page of the server, reached through the proxy.
    await page.goto(`http://127.0.0.1:${proxy.port}/healthz`);
    await page.evaluate(() => {
      const w = window as unknown as { seen: unknown[]; opens: number };
      w.seen = [];
      w.opens = 0;
      const source = new EventSource('/sse?rooms=chat:native');
      source.onopen = () => w.opens++;
      for (const type of ['welcome', 'joined', 'message', 'close']) {
        source.addEventListener(type, (e) => {
          const m = e as MessageEvent<string>;
          w.seen.push({ type, line: JSON.parse(m.data), lastEventId: m.lastEventId });
        });
      }
    });
    type Seen = { type: string; line: Record<string, unknown>; lastEventId: string };
    const seen = () =>
      page.evaluate(() => (window as unknown as { seen: unknown[] }).seen) as Promise<Seen[]>;
    const until = async (pred: (s: Seen[]) => boolean, what: string) => {
      for (let i = 0; i < 250; i++) {
        const s = await seen();
        if (pred(s)) return s;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await seen())}`);
    };
    const joinedCount = (s: Seen[]) => s.filter((e) => e.type === 'joined').length;
    await until((s) => joinedCount(s) === 1, 'joined');
    const first = await publish('one');
    const live = await until((s) => s.some((e) => e.type === 'message'), 'a live message');
    const message = live.find((e) => e.type === 'message')!;
    assert.equal(message.line.data, 'one');
    // The id that EventSource keeps is the stream position after this message.
    assert.match(message.lastEventId, new RegExp(`^p1 chat%3Anative:[^:]+:${first.offset}$`));

    // Cut: the stream drops, and reconnects are refused until the missed messages exist.
    proxy.freeze();
    proxy.cut();
    await waitFor(() => proxy.connections === 0, 5000, 'the cut');
    for (let i = 0; i < 250 && (await online()) !== 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await online(), 0, 'the old stream is gone');
    await publish('two');
    await publish('three');
    proxy.thaw();
    const after = await until((s) => joinedCount(s) === 2, 'the rejoin');
    const rejoin = after.filter((e) => e.type === 'joined')[1]!;
    assert.equal(rejoin.line.recovered, true);
    assert.deepEqual(
      (rejoin.line.messages as { data: unknown }[]).map((m) => m.data),
      ['two', 'three'],
    );
    await publish('four');
    const end = await until(
      (s) => s.some((e) => e.type === 'message' && e.line.data === 'four'),
      'live again',
    );
    assert.deepEqual(
      end.filter((e) => e.type === 'message').map((e) => e.line.data),
      ['one', 'four'],
      'live messages once each; the missed ones came inside joined',
    );
    assert.ok(
      (await page.evaluate(() => (window as unknown as { opens: number }).opens)) >= 2,
      'EventSource reconnected by itself',
    );
    await page.close();
  });
});
