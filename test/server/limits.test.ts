import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { useServer } from '../support/fixture.js';
import { rawExchange, rawStatusLine, upgradeRequest } from '../support/raw.js';
import { api, waitFor } from '../support/server.js';

// Limits and bad input: every one answered clearly, and the connection or process keeps working.
describe('Limits and bad input', () => {
  const fx = useServer({
    maxFrameBytes: 1024,
    maxRoomsPerConnection: 3,
    maxConnectionsPerIp: 30,
    publishRate: 2,
    publishBurst: 3,
    maxBodyBytes: 512,
    maxTokenLength: 300,
    maxAuthEvents: 2,
    retryAfterSec: 7,
  });
  const connect = fx.connect;

  const badLines: [string, string | object, RegExp][] = [
    ['not JSON', '{nope', /invalid JSON/],
    ['not an object', '[1,2]', /JSON object/],
    ['no type', { id: 1 }, /"type"/],
    ['unknown type', { type: 'teleport' }, /unknown type/],
    ['join without room', { type: 'join' }, /"room"/],
    ['bad room name', { type: 'join', room: 'has space' }, /"room"/],
    ['room name too long', { type: 'join', room: 'x'.repeat(129) }, /"room"/],
    ['publish without data', { type: 'publish', room: 'r' }, /"data"/],
    ['since of the wrong type', { type: 'join', room: 'r', since: 5 }, /"since"/],
    ['history negative', { type: 'join', room: 'r', history: -1 }, /"history"/],
    ['auth without token', { type: 'auth' }, /"token"/],
    [
      'auth with more events than maxAuthEvents',
      { type: 'auth', token: 't', events: ['a', 'b', 'c'] },
      /at most 2 events/,
    ],
  ];
  for (const [what, line, message] of badLines) {
    it(`answers ${what} with bad_request and keeps the connection`, async () => {
      const c = await connect();
      c.send(line);
      const error = await c.next((m) => m.type === 'error');
      assert.equal(error.code, 'bad_request');
      assert.match(String(error.message), message);
      const pong = await c.request({ type: 'ping' });
      assert.equal(pong.type, 'pong');
    });
  }

  it('refuses a token longer than maxTokenLength with too_large, naming the limit', async () => {
    const c = await connect();
    const error = await c.request({ type: 'auth', token: 'x'.repeat(301) });
    assert.equal(error.code, 'too_large');
    assert.match(String(error.message), /longer than 300 characters/);
  });

  it('closes a connection that sends a frame over the limit with 1009', async () => {
    const c = await connect();
    c.send({ type: 'publish', room: 'r', data: 'x'.repeat(2000) });
    assert.equal(await c.closed(), 1009);
  });

  it('closes a connection that sends a binary frame with 1003', async () => {
    const c = await connect();
    c.ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    assert.equal(await c.closed(), 1003);
  });

  it('limits publishes per connection with rate_limited, and the connection stays', async () => {
    const c = await connect();
    const replies = [];
    for (let i = 0; i < 6; i++)
      replies.push(await c.request({ type: 'publish', room: 'chat:rate', data: i }));
    const limited = replies.filter((r) => r.type === 'error' && r.code === 'rate_limited');
    assert.ok(limited.length >= 2, `expected refusals, got ${JSON.stringify(replies)}`);
    for (const r of limited) {
      // The wait until the next token: at most one token's time, 1000 ms / publishRate 2.
      const wait = Number(r.retryAfterMs);
      assert.ok(wait > 0 && wait <= 500, `retryAfterMs ${r.retryAfterMs}`);
    }
    assert.equal(replies[0]!.type, 'ok');
    assert.equal((await c.request({ type: 'ping' })).type, 'pong');
  });

  it('caps rooms per connection with forbidden', async () => {
    const c = await connect();
    for (const room of ['a', 'b', 'c'])
      assert.equal((await c.request({ type: 'join', room })).type, 'joined');
    const fourth = await c.request({ type: 'join', room: 'd' });
    assert.equal(fourth.code, 'forbidden');
    await c.request({ type: 'leave', room: 'a' });
    assert.equal((await c.request({ type: 'join', room: 'd' })).type, 'joined');
  });

  it('refuses a second join of the same room', async () => {
    const c = await connect();
    await c.request({ type: 'join', room: 'twice' });
    assert.equal((await c.request({ type: 'join', room: 'twice' })).code, 'bad_request');
  });

  it('refuses connections over the per-IP cap at the handshake with 429', async () => {
    const open: WebSocket[] = [];
    let refused = 0;
    for (let i = 0; i < 40 && refused === 0; i++) {
      const ws = new WebSocket(fx.server.wsUrl);
      open.push(ws);
      await new Promise<void>((resolve) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => {
          assert.equal(res.statusCode, 429);
          assert.equal(res.headers['retry-after'], '7', 'the retryAfterSec option');
          refused++;
          resolve();
        });
        ws.once('error', () => resolve());
      });
    }
    for (const ws of open) ws.terminate();
    assert.equal(refused, 1);
    await waitFor(async () => {
      const s = await api(fx.server, 'GET', '/api/stats');
      return (
        (s.body.totals as { connections: number }).connections <=
        fx.clients.filter((c) => c.closeCode === null).length
      );
    }, 'slots released');
    const again = await connect();
    assert.equal((await again.request({ type: 'ping' })).type, 'pong');
  });

  const handshakes: [string, string, RegExp][] = [
    ['HTTP/1.0', upgradeRequest({}, '/ws', '1.0'), /^HTTP\/1\.1 400/],
    ['no Host', upgradeRequest({ Host: null }), /^HTTP\/1\.1 400/],
    ['a bad key', upgradeRequest({ 'Sec-WebSocket-Key': 'short' }), /^HTTP\/1\.1 400/],
    [
      'version 8',
      upgradeRequest({ 'Sec-WebSocket-Version': '8' }),
      /^HTTP\/1\.1 426[\s\S]*Sec-WebSocket-Version: 13/,
    ],
    ['a wrong path', upgradeRequest({}, '/other'), /^HTTP\/1\.1 404/],
    ['a foreign Origin', upgradeRequest({ Origin: 'https://evil.example' }), /^HTTP\/1\.1 403/],
    ['POST', upgradeRequest().replace(/^GET/, 'POST'), /^HTTP\/1\.1 405/],
  ];
  for (const [what, request, answer] of handshakes) {
    it(`refuses an upgrade with ${what}`, async () => {
      const reply = await rawExchange(fx.server.port, request);
      assert.match(reply, answer);
    });
  }

  it('accepts an upgrade from its own origin and from localhost', async () => {
    for (const origin of [fx.server.url, 'http://localhost:3000']) {
      const status = await rawStatusLine(
        fx.server.port,
        upgradeRequest({ Origin: origin, Host: `127.0.0.1:${fx.server.port}` }),
      );
      assert.match(status, /^HTTP\/1\.1 101/);
    }
  });

  it('refuses an HTTP body over the limit with 413', async () => {
    const res = await api(fx.server, 'POST', '/api/publish', { room: 'r', data: 'x'.repeat(1000) });
    assert.equal(res.status, 413);
    assert.equal((res.body.error as { code: string }).code, 'too_large');
  });

  it('answers bad API input with 400 naming the problem, and wrong methods with 405', async () => {
    const notJson = await api(fx.server, 'POST', '/api/publish', '{nope');
    assert.equal(notJson.status, 400);
    const badRoom = await api(fx.server, 'POST', '/api/publish', { room: 'no spaces', data: 1 });
    assert.equal(badRoom.status, 400);
    assert.match((badRoom.body.error as { message: string }).message, /room/);
    const noData = await api(fx.server, 'POST', '/api/publish', { room: 'r' });
    assert.equal(noData.status, 400);
    const get = await api(fx.server, 'GET', '/api/publish');
    assert.equal(get.status, 405);
    const unknown = await api(fx.server, 'GET', '/api/nothing');
    assert.equal(unknown.status, 404);
  });

  it('is still serving after all of the above', async () => {
    const health = await api(fx.server, 'GET', '/healthz');
    assert.equal(health.status, 200);
  });
});
