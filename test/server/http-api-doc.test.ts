/**
 * docs/http-api.md and docs/errors.md against the code: the route table against the routes the
 * app really registers, the field tables against the schemas, the status table against the
 * catalogue. Regenerate the generated blocks with `npx tsx scripts/http-api-doc.ts`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createApiApp } from '../../src/api/app.js';
import { displayPath, ROUTE_DOCS, renderHttpApiDoc } from '../../src/api/doc.js';
import { STATUS_OF } from '../../src/api/errors.js';
import { type BarrageServer, createServer } from '../../src/server/index.js';

const read = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('docs/http-api.md', () => {
  let server: BarrageServer;
  before(async () => {
    server = await createServer({ logLevel: 'silent' });
  });
  after(async () => {
    await server.close();
  });
  /** The app as the server builds it, with the static pages on. */
  const apiApp = () =>
    createApiApp({
      node: server.node,
      apiKey: null,
      apiHosts: [],
      metricsPublic: false,
      maxBodyBytes: 1024,
      exposition: async () => ({ contentType: 'text/plain', body: '' }),
      stats: async () => ({
        nodes: [],
        totals: { nodes: 0, connections: 0, rooms: 0, messagesIn: 0, messagesOut: 0, framesOut: 0 },
      }),
      health: () => ({ ok: true, broker: { kind: 'memory', ok: true }, shuttingDown: false }),
      webRoot: 'web',
      sdkRoot: 'dist/client',
    });

  it('has its generated blocks up to date (npx tsx scripts/http-api-doc.ts)', () => {
    const doc = read('http-api.md');
    assert.equal(doc, renderHttpApiDoc(doc));
  });

  it('lists exactly the routes the app registers, with the static pages on', () => {
    const app = apiApp();
    // Middleware is registered for ALL methods; every route has one method.
    const registered = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`);
    const documented = ROUTE_DOCS.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual([...new Set(registered)].sort(), [...new Set(documented)].sort());
    const shown = ROUTE_DOCS.map((r) => `${r.method} ${displayPath(r)}`);
    assert.equal(new Set(shown).size, shown.length, 'no route documented twice');
    const doc = read('http-api.md');
    for (const r of ROUTE_DOCS) {
      assert.ok(doc.includes(`| \`${r.method} ${displayPath(r)}\` |`), `${r.path} in the table`);
    }
  });

  it('quotes the protective headers the pages are really sent', async () => {
    const doc = read('http-api.md');
    const page = await apiApp().request('/');
    assert.equal(page.status, 200);
    for (const name of [
      'content-security-policy',
      'x-frame-options',
      'x-content-type-options',
      'referrer-policy',
    ]) {
      const value = page.headers.get(name) ?? '';
      assert.ok(value && doc.includes(`| \`${value}\` |`), `${name}: ${value} quoted in the doc`);
    }
  });

  it('has a field table for every request schema', () => {
    const doc = read('http-api.md');
    const blocks = [...doc.matchAll(/<!-- generated: fields (GET|POST) (\S+) -->/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    const schemas = new Set(ROUTE_DOCS.map((r) => r.body ?? r.query).filter(Boolean));
    const covered = new Set(
      ROUTE_DOCS.filter((r) => blocks.includes(`${r.method} ${displayPath(r)}`)).map(
        (r) => r.body ?? r.query,
      ),
    );
    assert.deepEqual([...schemas].filter((s) => !covered.has(s)).length, 0);
  });
});

describe('docs/errors.md', () => {
  it('lists every HTTP error code the API answers, with its status', () => {
    const doc = read('errors.md');
    for (const [code, status] of Object.entries(STATUS_OF)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} has a row`);
      assert.match(row, new RegExp(`\\| ${status}\\b`), `${code} is ${status}`);
    }
  });
});
