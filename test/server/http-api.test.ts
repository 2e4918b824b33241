/**
 * The HTTP API's error catalogue on a real server: every status it answers is a catalogue code,
 * a wrong method answers 405 with the methods the routes really have, a bug is logged with the
 * request id and answered 500, and bodies and queries are checked by their schemas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Logged, recordingLogger } from '../support/logger.js';
import { api, startServer } from '../support/server.js';

const KEY = 'http-api-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('HTTP API errors', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  const lines: Logged[] = [];

  before(async () => {
    server = await startServer({
      apiKey: KEY,
      logger: recordingLogger(lines),
      hooks: {
        // A bug in an embedding application's hook: the API must log it, not hide it.
        authorizeApi: (req) => {
          if (req.headers['x-bug'] === 'yes') throw new Error('hook bug: cannot read tenant');
          return true;
        },
      },
    });
  });
  after(async () => {
    await server.close();
  });

  it('answers a wrong method 405 method_not_allowed with the Allow the routes have', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/api/publish', 'POST'],
      ['PUT', '/api/moderation/kick', 'POST'],
      ['POST', '/api/stats', 'GET'],
      ['PUT', '/api/rooms/live:1', 'GET'],
      ['GET', '/api/rooms/live:1/slowmode', 'GET'],
      // The store's wildcard routes count with the paths they answer, not as every room path.
      ['PATCH', '/api/rooms/live:1/slowmode', 'GET, POST'],
      ['PUT', '/api/rooms/vod:a/timeline/ep.1', 'GET, DELETE'],
      ['POST', '/api/rooms/vod:a/b/timeline/ep.1', 'GET, DELETE'],
      ['POST', '/healthz', 'GET'],
      ['POST', '/api/moderation', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(server.url + path, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      const body = (await res.json()) as { error?: { code: string } } & Record<string, unknown>;
      if (method === 'GET' && path.endsWith('/slowmode')) {
        // GET /api/rooms/:room takes any room name, `live:1/slowmode` included.
        assert.equal(res.status, 200, `${method} ${path}`);
        continue;
      }
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(body.error?.code, 'method_not_allowed');
    }
    const unknown = await api(server, 'GET', '/api/nothing', undefined, auth);
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body.error as { code: string }).code, 'not_found');
  });

  it('logs an unexpected error with its request id and answers 500 internal', async () => {
    const res = await fetch(`${server.url}/api/stats`, {
      headers: { ...auth, 'x-bug': 'yes', 'x-request-id': 'trace-42' },
    });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'internal');
    assert.match(body.error.message, /trace-42/);
    assert.doesNotMatch(body.error.message, /hook bug/, 'no internals in the answer');
    const logged = lines.find((l) => l.level === 'error' && l.fields.requestId === 'trace-42');
    assert.ok(logged, 'the error was logged with the request id');
    assert.equal((logged.fields.err as Error).message, 'hook bug: cannot read tenant');
    assert.equal(logged.fields.path, '/api/stats');
    // Every answer carries a request id, generated when the caller sent none.
    const ok = await fetch(`${server.url}/api/stats`, { headers: auth });
    assert.match(ok.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('names the bad field of a body or a query, as its schema says', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/publish', { data: 1 }, /^"room" must be a string$/],
      ['POST', '/api/publish', { room: 'a b', data: 1 }, /^"room" must be 1-128 characters/],
      ['POST', '/api/publish', { room: 'r' }, /^"data" is required$/],
      [
        'POST',
        '/api/publish',
        { room: 'r', data: 1, priority: 'vip' },
        /"priority" must be one of normal, highlight, paid, system/,
      ],
      ['POST', '/api/push', { userId: 'a', event: 'no spaces' }, /^"event" must be 1-64/],
      ['POST', '/api/broadcast', { data: 1 }, /^"event" must be a string$/],
      ['POST', '/api/publish', [1, 2], /^body must be a JSON object$/],
      ['POST', '/api/publish', '{"room":', /^body must be JSON$/],
      ['GET', '/api/rooms?limit=0', undefined, /^"limit" must be an integer from 1 to 1000/],
      ['GET', '/api/rooms?limit=ten', undefined, /^"limit" must be an integer from 1 to 1000/],
      ['GET', '/api/rooms?sort=name', undefined, /^"sort" must be members or rate/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await api(server, method, path, body, auth);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      const error = res.body.error as { code: string; message: string };
      assert.equal(error.code, 'bad_request');
      assert.match(error.message, message);
    }
    const rooms = await api(server, 'GET', '/api/rooms?sort=rate&limit=5', undefined, auth);
    assert.equal(rooms.status, 200);
    assert.deepEqual(rooms.body, { sort: 'rate', rooms: [] });
  });

  it('refuses a POST body not declared JSON with 415 unsupported_media_type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const headers: Record<string, string> = { ...auth };
      if (type) headers['content-type'] = type;
      const res = await fetch(`${server.url}/api/publish`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ room: 'r', data: 1 }),
      });
      assert.equal(res.status, 415, String(type));
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'unsupported_media_type');
      assert.match(body.error.message, /Content-Type must be application\/json/);
    }
    const ok = await api(
      server,
      'POST',
      '/api/publish',
      { room: 'r', data: 1 },
      {
        ...auth,
        'content-type': 'application/json; charset=utf-8',
      },
    );
    assert.equal(ok.status, 200);
  });
});
