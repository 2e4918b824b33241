/**
 * Issue 11 item 2, over raw HTTP: what a web page on another site can make a browser on the
 * server's machine send to a node without an API key (a "simple" request with a text/plain
 * body, a foreign Origin, Sec-Fetch-Site: cross-site, a DNS-rebound Host). Each is refused, and
 * nothing it asked for happened; the node's own callers (no Origin, a loopback Host) still pass.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../support/raw.js';
import { api, startServer } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServer>>;

interface RawAnswer {
  status: number;
  body: string;
}

/** One request with exactly these headers (Host included), over a fresh socket. */
async function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<RawAnswer> {
  const lines = Object.entries({
    ...headers,
    Connection: 'close',
    'Content-Length': String(Buffer.byteLength(body)),
  }).map(([k, v]) => `${k}: ${v}`);
  const reply = await rawExchange(
    port,
    `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`,
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
  return { status, body: reply.slice(reply.indexOf('\r\n\r\n') + 4) };
}

const publish = (room: string) =>
  JSON.stringify({ room, data: { text: 'you won a prize' }, priority: 'system' });

describe('cross-site requests against a node with no API key', () => {
  let server: Server;
  let host: string;

  before(async () => {
    server = await startServer();
    host = `127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
  });

  it('refuses a text/plain body (a no-cors fetch or a form) with 415, publishing nothing', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await raw(
        server.port,
        'POST',
        '/api/publish',
        { Host: host, 'Content-Type': type },
        publish('live:plain'),
      );
      assert.equal(res.status, 415, type);
      assert.match(res.body, /"unsupported_media_type"/);
    }
    const ban = await raw(
      server.port,
      'POST',
      '/api/moderation/ban',
      { Host: host, 'Content-Type': 'text/plain' },
      JSON.stringify({ userId: 'victim' }),
    );
    assert.equal(ban.status, 415);
    assert.equal((await api(server, 'GET', '/api/rooms/live:plain')).body.offset, 0);
    assert.deepEqual((await api(server, 'GET', '/api/moderation?userId=victim')).body.rules, []);
  });

  it('refuses a foreign Origin and a cross-site or same-site Sec-Fetch-Site with 403', async () => {
    const json = { Host: host, 'Content-Type': 'application/json' };
    const attempts: Record<string, string>[] = [
      { ...json, Origin: 'http://evil.example' },
      { ...json, Origin: `http://localhost:${server.port}` }, // another origin on this machine
      { ...json, Origin: 'null' }, // a sandboxed frame or a file: page
      { ...json, 'Sec-Fetch-Site': 'cross-site' },
      { ...json, 'Sec-Fetch-Site': 'same-site' },
    ];
    for (const headers of attempts) {
      const res = await raw(server.port, 'POST', '/api/publish', headers, publish('live:origin'));
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /"forbidden"/);
      assert.match(res.body, /cross-(site|origin) request refused/);
    }
    // Reading is refused the same way (a CORS read would need headers the API never sends).
    const read = await raw(server.port, 'GET', '/api/stats', {
      Host: host,
      'Sec-Fetch-Site': 'cross-site',
    });
    assert.equal(read.status, 403);
    assert.equal((await api(server, 'GET', '/api/rooms/live:origin')).body.offset, 0);
  });

  it('refuses a DNS-rebound Host name, reading or writing, and /metrics too', async () => {
    const rebound = `attacker.example:${server.port}`;
    // The browser thinks this is the attacker's own origin: same-origin, Origin matching Host.
    const sameOrigin = { Host: rebound, 'Sec-Fetch-Site': 'same-origin' };
    for (const path of ['/api/stats', '/metrics', '/api/rooms?sort=rate']) {
      const res = await raw(server.port, 'GET', path, sameOrigin);
      assert.equal(res.status, 403, path);
      assert.match(res.body, /only loopback Host names/);
      assert.doesNotMatch(res.body, /nodeId|barrage_/, 'nothing of the answer leaks');
    }
    const write = await raw(
      server.port,
      'POST',
      '/api/broadcast',
      { ...sameOrigin, Origin: `http://${rebound}`, 'Content-Type': 'application/json' },
      JSON.stringify({ event: 'alert', data: 'pwned' }),
    );
    assert.equal(write.status, 403);
  });

  it('still answers its own callers: no Origin, loopback Host names, its own pages', async () => {
    for (const name of ['127.0.0.1', 'localhost', '[::1]', '127.0.0.2', 'LOCALHOST']) {
      const res = await raw(server.port, 'GET', '/api/stats', { Host: `${name}:${server.port}` });
      assert.equal(res.status, 200, name);
    }
    const ownPage = await raw(
      server.port,
      'POST',
      '/api/publish',
      {
        Host: host,
        Origin: `http://${host}`,
        'Sec-Fetch-Site': 'same-origin',
        'Content-Type': 'application/json; charset=utf-8',
      },
      publish('live:own'),
    );
    assert.equal(ownPage.status, 200);
    assert.equal((await api(server, 'GET', '/api/rooms/live:own')).body.offset, 1);
  });
});

describe('the Host rule depends on the key and on apiHosts', () => {
  let keyed: Server;
  let named: Server;

  before(async () => {
    keyed = await startServer({ apiKey: 'cross-site-key' });
    named = await startServer({ apiHosts: ['barrage.internal:8080', 'Other.Internal'] });
  });
  after(async () => {
    await keyed.close();
    await named.close();
  });

  it('with an API key any Host passes (the key is the defence), a foreign Origin does not', async () => {
    const headers = {
      Host: `api.example.com:${keyed.port}`,
      Authorization: 'Bearer cross-site-key',
    };
    assert.equal((await raw(keyed.port, 'GET', '/api/stats', headers)).status, 200);
    const foreign = await raw(keyed.port, 'GET', '/api/stats', {
      ...headers,
      Origin: 'http://evil.example',
    });
    assert.equal(foreign.status, 403);
  });

  it('apiHosts replaces the loopback names (127.x addresses always pass)', async () => {
    const get = (name: string) =>
      raw(named.port, 'GET', '/api/stats', { Host: `${name}:${named.port}` });
    assert.equal((await get('barrage.internal')).status, 200);
    assert.equal((await get('other.internal')).status, 200);
    assert.equal((await get('127.0.0.1')).status, 200);
    assert.equal((await get('localhost')).status, 403);
    assert.equal((await get('barrage.internal.attacker.example')).status, 403);
  });
});
