/**
 * The SSE routes of docs/http-api.md and docs/sse.md against the server: every documented route
 * answers (the generated route table covers the API app only; the SSE edge is served beside it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../support/server.js';

const read = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

/** Each documented SSE route, and what the server answers to a minimal request on it. */
const ROUTES = [
  { route: 'GET /sse', path: '/sse', status: 400 }, // no `rooms`: refused naming the parameter
  { route: 'POST /sse/publish', path: '/sse/publish', status: 415 }, // no JSON body
  { route: 'POST /sse/ack', path: '/sse/ack', status: 415 }, // no JSON body
] as const;

describe('SSE routes in the docs', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('lists the SSE routes in http-api.md and sse.md, and each is served', async () => {
    const api = read('http-api.md');
    const sse = read('sse.md');
    const documented = (doc: string) =>
      [...doc.matchAll(/^\| `(GET|POST) (\/sse[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const expected = ROUTES.map((r) => r.route).sort();
    assert.deepEqual(documented(api), expected);
    assert.deepEqual(documented(sse), expected);
    for (const r of ROUTES) {
      const [method] = r.route.split(' ');
      const res = await fetch(server.url + r.path, { method });
      assert.equal(res.status, r.status, r.route);
      const body = (await res.json()) as { error?: { code?: string } };
      assert.equal(body.error?.code, 'bad_request', r.route);
    }
  });
});
