import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { malformedUpgrade, pathOf, type Refusal, refuse, tokenOf } from './handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455's sample key

/** The parts of an upgrade request that malformedUpgrade reads, valid unless changed. */
function request(
  change: { httpVersion?: string; method?: string; url?: string } = {},
  headers: Record<string, string | undefined> = {},
): IncomingMessage {
  const all: Record<string, string | undefined> = {
    host: '127.0.0.1:8080',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
    ...headers,
  };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  return {
    httpVersion: '1.1',
    method: 'GET',
    url: '/ws',
    ...change,
    headers: all,
  } as unknown as IncomingMessage;
}

describe('malformedUpgrade', () => {
  const rows: [string, IncomingMessage, Refusal | null][] = [
    ['a well-formed upgrade', request(), null],
    ['a query string on the path', request({ url: '/ws?token=abc&x=1' }), null],
    ['the Upgrade header in another case', request({}, { upgrade: 'WebSocket' }), null],
    ['whitespace around the key', request({}, { 'sec-websocket-key': ` ${KEY} ` }), null],
    [
      'HTTP/1.0',
      request({ httpVersion: '1.0' }),
      { status: 400, message: 'WebSocket needs HTTP/1.1' },
    ],
    [
      'HTTP/2.0',
      request({ httpVersion: '2.0' }),
      { status: 400, message: 'WebSocket needs HTTP/1.1' },
    ],
    [
      'HTTP/1.0 without Host (the version is checked first)',
      request({ httpVersion: '1.0' }, { host: undefined }),
      { status: 400, message: 'WebSocket needs HTTP/1.1' },
    ],
    [
      'no Host header',
      request({}, { host: undefined }),
      { status: 400, message: 'missing Host header' },
    ],
    [
      'an empty Host header',
      request({}, { host: '' }),
      { status: 400, message: 'missing Host header' },
    ],
    [
      'POST',
      request({ method: 'POST' }),
      { status: 405, message: 'WebSocket upgrade must be a GET', headers: { Allow: 'GET' } },
    ],
    [
      'HEAD',
      request({ method: 'HEAD' }),
      { status: 405, message: 'WebSocket upgrade must be a GET', headers: { Allow: 'GET' } },
    ],
    ['a wrong path', request({ url: '/socket' }), { status: 404, message: 'not found' }],
    [
      'the path with a trailing slash',
      request({ url: '/ws/' }),
      { status: 404, message: 'not found' },
    ],
    ['the path in another case', request({ url: '/WS' }), { status: 404, message: 'not found' }],
    ['a sub-path', request({ url: '/ws/x' }), { status: 404, message: 'not found' }],
    [
      'no Upgrade header',
      request({}, { upgrade: undefined }),
      { status: 400, message: 'missing or bad Upgrade header' },
    ],
    [
      'Upgrade: h2c',
      request({}, { upgrade: 'h2c' }),
      { status: 400, message: 'missing or bad Upgrade header' },
    ],
    ...(
      [
        ['no key', undefined],
        ['an empty key', ''],
        ['a short key', 'abc'],
        ['a key of 15 bytes', Buffer.alloc(15).toString('base64')],
        ['a key of 17 bytes', Buffer.alloc(17).toString('base64')],
        ['a key without padding', KEY.slice(0, 22)],
        ['a key with a bad character', `${KEY.slice(0, 21)}!==`],
        ['a base64url key', `${KEY.slice(0, 20)}-_-_==`],
      ] as const
    ).map(
      ([name, key]) =>
        [
          name,
          request({}, { 'sec-websocket-key': key }),
          { status: 400, message: 'missing or bad Sec-WebSocket-Key' },
        ] as [string, IncomingMessage, Refusal],
    ),
    ...(['8', '12', '14', undefined] as const).map(
      (version) =>
        [
          `WebSocket version ${version ?? 'missing'}`,
          request({}, { 'sec-websocket-version': version }),
          {
            status: 426,
            message: 'unsupported WebSocket version',
            headers: { 'Sec-WebSocket-Version': '13' },
          },
        ] as [string, IncomingMessage, Refusal],
    ),
  ];
  for (const [name, req, refusal] of rows) {
    it(`${refusal ? `refuses with ${refusal.status}` : 'accepts'}: ${name}`, () => {
      assert.deepStrictEqual(malformedUpgrade(req, '/ws'), refusal);
    });
  }

  it('accepts a random valid key', () => {
    for (let i = 0; i < 20; i++) {
      const key = Buffer.from(
        Array.from({ length: 16 }, () => Math.floor(Math.random() * 256)),
      ).toString('base64');
      assert.equal(malformedUpgrade(request({}, { 'sec-websocket-key': key }), '/ws'), null, key);
    }
  });

  it('checks the path it is given', () => {
    assert.equal(malformedUpgrade(request({ url: '/live?x' }), '/live'), null);
    assert.equal(malformedUpgrade(request({ url: '/ws' }), '/live')?.status, 404);
  });
});

describe('pathOf', () => {
  it('strips the query', () => {
    assert.equal(pathOf('/ws?token=a?b'), '/ws');
    assert.equal(pathOf('/ws'), '/ws');
    assert.equal(pathOf('/ws?'), '/ws');
    assert.equal(pathOf(undefined), '');
  });
});

describe('tokenOf', () => {
  const rows: [string | undefined, string | null][] = [
    ['/ws?token=abc.def.ghi', 'abc.def.ghi'],
    ['/ws?x=1&token=a%2Bb%3D', 'a+b='],
    ['/ws?token=', ''],
    ['/ws?tokens=abc', null],
    ['/ws?x=1', null],
    ['/ws', null],
    [undefined, null],
    ['/ws?token=first&token=second', 'first'],
  ];
  for (const [url, token] of rows) {
    it(`reads ${JSON.stringify(token)} from ${JSON.stringify(url)}`, () =>
      assert.equal(tokenOf(url), token));
  }
});

describe('refuse', () => {
  let server: Server;
  let port = 0;
  const accepted: Socket[] = [];
  before(async () => {
    server = createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Opens a real loopback connection, refuses it server-side, and returns what the client read. */
  async function refusedResponse(refusal: Refusal): Promise<string> {
    const client = tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve, reject) => {
      client.on('close', () => resolve());
      client.on('error', reject);
      setTimeout(
        () => reject(new Error('the refused connection was not closed within 5 s')),
        5000,
      ).unref();
    });
    const count = accepted.length;
    while (accepted.length === count) await new Promise((r) => setTimeout(r, 5));
    refuse(accepted[accepted.length - 1]!, refusal);
    await ended;
    return Buffer.concat(chunks).toString();
  }

  it('answers with the status, plain-text body and extra headers, then closes', async () => {
    const text = await refusedResponse({
      status: 426,
      message: 'unsupported WebSocket version',
      headers: { 'Sec-WebSocket-Version': '13' },
    });
    const [head, body] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 426 Upgrade Required');
    assert.ok(lines.includes('Connection: close'));
    assert.ok(lines.includes('Content-Type: text/plain; charset=utf-8'));
    assert.ok(lines.includes('Sec-WebSocket-Version: 13'));
    assert.ok(lines.includes(`Content-Length: ${Buffer.byteLength(body!)}`));
    assert.equal(body, 'unsupported WebSocket version\n');
  });

  it('counts the body length in bytes, not characters', async () => {
    const text = await refusedResponse({ status: 403, message: 'interdit — café' });
    assert.ok(text.includes(`Content-Length: ${Buffer.byteLength('interdit — café\n')}`), text);
    assert.ok(text.startsWith('HTTP/1.1 403 Forbidden\r\n'));
  });

  it('destroys a socket that is no longer writable without writing', async () => {
    const client = tcpConnect(port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const socket = accepted[accepted.length - 1]!;
    socket.destroy();
    refuse(socket, { status: 400, message: 'x' });
    assert.equal(socket.destroyed, true);
    client.destroy();
  });
});
