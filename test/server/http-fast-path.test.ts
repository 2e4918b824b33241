/**
 * The fast path of POST /api/push and /api/publish (src/api/fast-path.ts) answers byte for byte
 * what the router answers: the same request goes to two listeners over the same engine, one with
 * the fast path and one without, each over its own keep-alive connection, and the two answers
 * must be equal (the `Date` header aside). Refusals before the body was read leave the
 * connection usable for the next request, on both.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ApiOptions, createApiListener } from '../../src/api/app.js';
import type { Logger } from '../../src/log.js';
import { ReplyError } from '../../src/node/index.js';
import { KeepAliveConnection } from '../support/raw.js';
import { startServer } from '../support/server.js';

const KEY = 'fast-path-key';
const MAX_BODY = 1024;

/** Logs error lines into `into` (the 500 case checks one was written, on both paths). */
function errorsInto(into: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (fields) => void into.push(String((fields as { requestId?: unknown }).requestId)),
    child: () => logger,
  };
  return logger;
}

async function listen(listener: Parameters<typeof createHttpServer>[1]): Promise<Server> {
  const http = createHttpServer(listener);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return http;
}

const portOf = (http: Server): number => (http.address() as AddressInfo).port;

/** A request's text: `Host` and the given headers, `Content-Length` when there is a body. */
function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const bytes = body === undefined ? undefined : Buffer.from(body);
  if (bytes && !Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding'))
    lines.push(`Content-Length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes ?? Buffer.alloc(0)]);
}

const json = { 'Content-Type': 'application/json' };
const key = { Authorization: `Bearer ${KEY}` };
const id = (n: string) => ({ 'X-Request-Id': `fast-path-${n}` });

describe('API fast path (POST /api/push, /api/publish)', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let fast: Server;
  let router: Server;
  let toFast: KeepAliveConnection;
  let toRouter: KeepAliveConnection;
  const logged: string[] = [];

  before(async () => {
    server = await startServer({
      apiKey: KEY,
      hooks: {
        onPublish: ({ room }) => {
          if (room === 'refused') return { reject: { code: 'rate_limited', message: 'slow down' } };
          if (room === 'bug') throw new Error('hook bug');
          if (room === 'reply-error') throw new ReplyError('unavailable', 'broker away');
          return undefined;
        },
      },
    });
    const options: ApiOptions = {
      node: server.node,
      apiKey: KEY,
      apiHosts: [],
      log: errorsInto(logged),
      metricsPublic: false,
      maxBodyBytes: MAX_BODY,
      authorizeApi: (info) => {
        if (info.headers['x-bug'] === 'yes') throw new Error('authorizeApi bug');
        return info.headers['x-tenant'] !== 'evil';
      },
      exposition: async () => ({ contentType: 'text/plain', body: '' }),
      stats: () => Promise.reject(new Error('not used')),
      health: () => ({ ok: true, broker: { kind: 'memory', ok: true }, shuttingDown: false }),
      webRoot: null,
      sdkRoot: null,
    };
    fast = await listen(await createApiListener(options));
    router = await listen(await createApiListener({ ...options, fastPath: false }));
    toFast = await KeepAliveConnection.open(portOf(fast));
    toRouter = await KeepAliveConnection.open(portOf(router));
  });
  after(async () => {
    toFast.close();
    toRouter.close();
    fast.close();
    router.close();
    await server.close();
  });

  /** Sends `bytes` on both connections; asserts equal answers; returns the fast path's. */
  async function same(bytes: Buffer, options: { head?: boolean } = {}): Promise<string> {
    const a = await toFast.exchange(bytes, options);
    const b = await toRouter.exchange(bytes, options);
    const noDate = (s: string) => s.replace(/\r\nDate: [^\r]+/, '\r\nDate: -');
    assert.equal(noDate(a), noDate(b));
    return a;
  }

  const push = (headers: Record<string, string>, body?: string | Buffer) =>
    request('POST', '/api/push', headers, body);

  it('answers a push with the same status, headers and body', async () => {
    const answer = await same(
      push({ ...key, ...json, ...id('ok') }, '{"userId":"u1","event":"e"}'),
    );
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /\r\ncontent-security-policy: default-src 'self'/);
    assert.match(answer, /\r\nx-frame-options: DENY\r\n/);
    assert.match(answer, /\r\nx-request-id: fast-path-ok\r\n/);
    assert.match(answer, /\r\nConnection: keep-alive\r\n/);
    assert.ok(answer.endsWith('\r\n\r\n{"delivered":0}'));
  });

  it('answers a publish the same (offset and epoch aside: each call is a new message)', async () => {
    const body = (room: string) => `{"room":"${room}","data":{"text":"hi"}}`;
    const a = await toFast.exchange(
      request('POST', '/api/publish', { ...key, ...json }, body('p1')),
    );
    const b = await toRouter.exchange(
      request('POST', '/api/publish', { ...key, ...json }, body('p2')),
    );
    const mask = (s: string) =>
      s
        .replace(/\r\nDate: [^\r]+/, '')
        .replace(/x-request-id: [^\r]+/, 'x-request-id: -')
        .replace(/"epoch":"[^"]+"/, '"epoch":"-"');
    assert.match(a, /\r\n\r\n\{"offset":1,"epoch":"[^"]+"\}$/);
    assert.equal(mask(a), mask(b));
  });

  it('refuses bad JSON, a non-object and missing or wrong fields with the same 400', async () => {
    const bodies = [
      '{"userId":',
      '[1,2]',
      '"text"',
      '{}',
      '{"userId":"u1"}',
      '{"userId":7,"event":"e"}',
      '{"userId":"has space","event":"e"}',
      '{"userId":"u1","event":"bad event!"}',
      '',
    ];
    for (const [n, body] of bodies.entries()) {
      const answer = await same(push({ ...key, ...json, ...id(`400-${n}`) }, body));
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, body);
      assert.match(answer, /\{"error":\{"code":"bad_request","message":"[^"]+/);
    }
    const publish = await same(
      request('POST', '/api/publish', { ...key, ...json, ...id('400-p') }, '{"room":"r"}'),
    );
    assert.ok(
      publish.endsWith('{"error":{"code":"bad_request","message":"\\"data\\" is required"}}'),
    );
  });

  it('takes a body with a UTF-8 BOM and a JSON media type with parameters alike', async () => {
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"userId":"u","event":"e"}'),
    ]);
    const headers = { ...key, 'Content-Type': 'Application/JSON; charset=utf-8', ...id('bom') };
    assert.match(await same(push(headers, bom)), /^HTTP\/1\.1 200 OK/);
    const vendor = { ...key, 'Content-Type': 'application/vnd.api+json', ...id('vendor') };
    assert.match(await same(push(vendor, '{"userId":"u","event":"e"}')), /^HTTP\/1\.1 200 OK/);
  });

  it('refuses a body over the limit with the same 413, by Content-Length and chunked', async () => {
    const big = `{"userId":"u","event":"e","data":"${'x'.repeat(MAX_BODY)}"}`;
    const byLength = await same(push({ ...key, ...json, ...id('413') }, big));
    assert.match(byLength, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
    assert.ok(
      byLength.endsWith(`{"error":{"code":"too_large","message":"body over ${MAX_BODY} bytes"}}`),
    );
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const chunked = `${chunk(big.slice(0, 600))}${chunk(big.slice(600))}0\r\n\r\n`;
    const headers = { ...key, ...json, ...id('413-chunked'), 'Transfer-Encoding': 'chunked' };
    assert.match(await same(push(headers, chunked)), /^HTTP\/1\.1 413 /);
    // The refused bodies were drained: both connections still serve the next call.
    const next = await same(
      push({ ...key, ...json, ...id('after-413') }, '{"userId":"u","event":"e"}'),
    );
    assert.match(next, /^HTTP\/1\.1 200 OK/);
    assert.equal(toFast.closed || toRouter.closed, false);
  });

  it('closes the connection of a refused body that keeps coming, on both', async () => {
    for (const http of [fast, router]) {
      const conn = await KeepAliveConnection.open(portOf(http));
      const head = `POST /api/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n`;
      const answer = await conn.exchange(`${head}{"userId":"u"`);
      assert.match(answer, /^HTTP\/1\.1 413 /);
      conn.write('x'.repeat(1000)); // more of the body, never all of it
      await conn.closedByServer();
      conn.close();
    }
  });

  it('refuses a missing, wrong or doubled key with the same 401', async () => {
    const cases: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: KEY },
      { Authorization: `Basic ${KEY}` },
    ];
    for (const [n, auth] of cases.entries()) {
      const answer = await same(
        push({ ...auth, ...json, ...id(`401-${n}`) }, '{"userId":"u","event":"e"}'),
      );
      assert.match(answer, /^HTTP\/1\.1 401 Unauthorized\r\n/);
      assert.ok(
        answer.endsWith('{"error":{"code":"unauthorized","message":"missing or wrong API key"}}'),
      );
    }
    // A second Authorization header joins the first (as Web Headers read it): refused on both.
    const twice = Buffer.from(
      `POST /api/push HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nX-Request-Id: twice\r\nContent-Length: 2\r\n\r\n{}`,
    );
    assert.match(await same(twice), /^HTTP\/1\.1 401 /);
  });

  it('refuses a wrong or missing Content-Type with the same 415', async () => {
    for (const [n, type] of ['text/plain', 'application/x-www-form-urlencoded', ''].entries()) {
      const headers: Record<string, string> = { ...key, ...id(`415-${n}`) };
      if (type) headers['Content-Type'] = type;
      const answer = await same(push(headers, '{"userId":"u","event":"e"}'));
      assert.match(answer, /^HTTP\/1\.1 415 Unsupported Media Type\r\n/);
      assert.match(answer, /"code":"unsupported_media_type"/);
    }
  });

  it('refuses cross-site browser requests and authorizeApi refusals with the same 403', async () => {
    const cases: Record<string, string>[] = [
      { 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'https://evil.example' },
      { 'X-Tenant': 'evil' },
    ];
    for (const [n, extra] of cases.entries()) {
      const answer = await same(push({ ...key, ...json, ...extra, ...id(`403-${n}`) }, '{}'));
      assert.match(answer, /^HTTP\/1\.1 403 Forbidden\r\n/);
    }
  });

  it('answers engine refusals and bugs the same (a bug logged with the request id)', async () => {
    const pub = (room: string, n: string) =>
      request('POST', '/api/publish', { ...key, ...json, ...id(n) }, `{"room":"${room}","data":1}`);
    assert.ok(
      (await same(pub('refused', 'hook'))).endsWith(
        '{"error":{"code":"rate_limited","message":"slow down"}}',
      ),
    );
    assert.match(await same(pub('reply-error', 'reply')), /^HTTP\/1\.1 503 /);
    const bug = await same(pub('bug', 'bug'));
    assert.match(bug, /^HTTP\/1\.1 500 /);
    assert.ok(
      bug.endsWith(
        '{"error":{"code":"internal","message":"internal error (request id fast-path-bug)"}}',
      ),
    );
    const hookBug = await same(push({ ...key, ...json, 'X-Bug': 'yes', ...id('guard-bug') }, '{}'));
    assert.match(hookBug, /^HTTP\/1\.1 500 /);
    assert.deepEqual(
      logged.filter((r) => r.startsWith('fast-path-')),
      ['fast-path-bug', 'fast-path-bug', 'fast-path-guard-bug', 'fast-path-guard-bug'],
    );
  });

  it('gives a new request id for a bad one, and keeps a good one', async () => {
    const bad = { ...key, ...json, 'X-Request-Id': 'not ok!' };
    const answer = await toFast.exchange(push(bad, '{"userId":"u","event":"e"}'));
    assert.match(
      answer,
      /\r\nx-request-id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r\n/,
    );
    const long = { ...key, ...json, 'X-Request-Id': 'a'.repeat(256) };
    assert.doesNotMatch(await toFast.exchange(push(long, '{}')), /x-request-id: a{256}/);
    const ok = { ...key, ...json, 'X-Request-Id': `A-z_0=${'9'.repeat(200)}` };
    assert.match(await same(push(ok, '{}')), /x-request-id: A-z_0=9{200}\r\n/);
  });

  it('leaves HEAD, OPTIONS, GET, a query string and a trailing slash to the router', async () => {
    const head = await same(request('HEAD', '/api/push', { ...key, ...id('head') }), {
      head: true,
    });
    assert.match(head, /^HTTP\/1\.1 405 Method Not Allowed\r\nallow: POST\r\n/);
    const options = await same(request('OPTIONS', '/api/push', { ...key, ...id('options') }));
    assert.match(options, /^HTTP\/1\.1 405 Method Not Allowed\r\nallow: POST\r\n/);
    assert.match(
      await same(request('GET', '/api/publish', { ...key, ...id('get') })),
      /^HTTP\/1\.1 405 /,
    );
    const query = push({ ...key, ...json, ...id('query') }, '{"userId":"u","event":"e"}');
    const withQuery = Buffer.from(
      query.toString('latin1').replace('/api/push ', '/api/push?x=1 '),
      'latin1',
    );
    assert.match(await same(withQuery), /^HTTP\/1\.1 200 OK/);
    const slash = Buffer.from(
      query.toString('latin1').replace('/api/push ', '/api/push/ '),
      'latin1',
    );
    assert.match(await same(slash), /^HTTP\/1\.1 404 /);
    assert.equal(toFast.closed || toRouter.closed, false);
  });
});
