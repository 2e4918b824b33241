/**
 * Issue 11 item 2 in a real browser: a page on another origin (a second HTTP server on
 * 127.0.0.2) makes Chromium send the requests that a keyless node used to obey (system messages,
 * a ban, a kick, a broadcast, with no-cors fetches), and a DNS-rebound page (a host name of the
 * attacker's resolved to 127.0.0.1) tries to read /api/stats. Every request reaches the server and
 * is refused; nothing it asked for happens.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { type BarrageClient, connect } from '../../client/index.js';
import type { BarrageServer } from '../../src/server/index.js';
import { launchBrowser } from './support/browser.js';
import { startServer, wsUrl } from './support/server.js';

const ROOM = 'live:victim';

/** The attacker's page: every write the old API took from a simple request, then a read. */
function attackPage(target: string): string {
  const send = (path: string, body: object) =>
    `await fetch('${target}${path}', { method: 'POST', mode: 'no-cors', body: ${JSON.stringify(JSON.stringify(body))} }).catch(() => {});`;
  return `<!doctype html><title>prize</title><script type="module">
${send('/api/publish', { room: ROOM, data: { text: 'click here' }, priority: 'system' })}
${send('/api/moderation/ban', { userId: 'viewer' })}
${send('/api/moderation/kick', { userId: 'viewer' })}
${send('/api/broadcast', { event: 'alert', data: 'pwned' })}
let read;
try { read = await (await fetch('${target}/api/stats')).text(); } catch (e) { read = 'blocked: ' + e.name; }
window.attack = { read };
document.title = 'done';
</script>`;
}

describe('a page on another origin against a node with no API key (Chromium)', () => {
  let server: BarrageServer;
  let attacker: HttpServer;
  let attackerUrl: string;
  let browser: Browser;
  let viewer: BarrageClient;
  const seen: string[] = [];

  before(async () => {
    server = await startServer();
    viewer = await connect(wsUrl(server), { WebSocket });
    const room = await viewer.join(ROOM);
    room.on('message', (m) => seen.push(`message ${JSON.stringify(m.data)}`));
    viewer.on('push', (p) => seen.push(`push ${p.event}`));
    attacker = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(attackPage(server.url));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.2', resolve));
    attackerUrl = `http://127.0.0.2:${(attacker.address() as { port: number }).port}/`;
    browser = await launchBrowser();
  });
  after(async () => {
    viewer?.close();
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await server?.close();
  });

  it('refuses every forged write, and the page cannot read the API', async () => {
    const page = await browser.newPage();
    const answered: { path: string; status: number }[] = [];
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.origin === server.url) answered.push({ path: url.pathname, status: res.status() });
    });
    await page.goto(attackerUrl);
    await page.waitForFunction(() => document.title === 'done', null, { timeout: 15_000 });
    const { read } = await page.evaluate(
      () => (window as unknown as { attack: { read: string } }).attack,
    );
    // Each request reached the server (so Chromium did not stop it) and was refused there.
    const writes = answered.filter((a) => a.path !== '/api/stats');
    assert.deepEqual(writes.map((a) => a.path).sort(), [
      '/api/broadcast',
      '/api/moderation/ban',
      '/api/moderation/kick',
      '/api/publish',
    ]);
    for (const a of answered) assert.equal(a.status, 403, `${a.path} refused`);
    assert.match(read, /^blocked/, 'no readable answer');
    // Nothing happened: the viewer is still here, unbanned, and got no system line or alert.
    assert.equal(viewer.state, 'open');
    assert.deepEqual(await (await fetch(`${server.url}/api/moderation?userId=viewer`)).json(), {
      userId: 'viewer',
      rules: [],
    });
    const info = (await (await fetch(`${server.url}/api/rooms/${ROOM}`)).json()) as {
      offset: number;
    };
    assert.equal(info.offset, 0, 'nothing published');
    assert.deepEqual(seen, []);
    await page.close();
  });

  it('refuses a DNS-rebound page that is "same-origin" with the node', async () => {
    // The attacker's name resolves to 127.0.0.1 (as after a rebinding). Chromium's own
    // local-network checks would stop this page; they are turned off to test the server's.
    const rebinding = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--host-resolver-rules=MAP rebind.test 127.0.0.1',
        '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults',
      ],
    });
    try {
      const page = await rebinding.newPage();
      const origin = `http://rebind.test:${server.port}`;
      await page.route(`${origin}/prize.html`, (route) =>
        route.fulfill({ contentType: 'text/html', body: attackPage(origin) }),
      );
      await page.goto(`${origin}/prize.html`);
      await page.waitForFunction(() => document.title === 'done', null, { timeout: 15_000 });
      const { read } = await page.evaluate(
        () => (window as unknown as { attack: { read: string } }).attack,
      );
      assert.match(read, /only loopback Host names/, 'the server refused the rebound Host');
      assert.doesNotMatch(read, /nodeId/);
      const info = (await (await fetch(`${server.url}/api/rooms/${ROOM}`)).json()) as {
        offset: number;
      };
      assert.equal(info.offset, 0, 'nothing published');
      assert.equal(viewer.state, 'open');
      assert.deepEqual(seen, []);
    } finally {
      await rebinding.close();
    }
  });
});
