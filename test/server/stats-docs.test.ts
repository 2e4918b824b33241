/**
 * docs/http-api.md mirrors the stats code: its `/metrics` table must list exactly the metrics the
 * registry exposes (names and types; `*` rows cover prom-client's default metrics), and its
 * `/api/stats` tables exactly the fields of a real report.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { useServer } from '../support/fixture.js';
import { api, waitFor } from '../support/server.js';

const doc = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');

/** The markdown section under a `## ` heading, up to the next one. */
function section(heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `http-api.md has a "## ${heading}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Rows of the table whose header starts with `| first |`: each row's cells, backticks kept. */
function table(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  assert.ok(head >= 0, `a table starting with "| ${first} |"`);
  const rows: string[][] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** The first `code` span of a cell. */
function code(cell: string): string {
  const m = /`([^`]+)`/.exec(cell);
  assert.ok(m, `a \`name\` in "${cell}"`);
  return m[1]!;
}

/** Every `code` span of a cell. */
function codes(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('docs/http-api.md matches the stats and metrics the server exposes', () => {
  const fx = useServer({ presenceIntervalMs: 100 });

  it('the /metrics table lists every metric, with its type, and nothing else', async () => {
    // A room with a member and a message, so the per-room series exist too.
    const client = await fx.connect();
    await client.request({ type: 'join', room: 'docs:room' });
    await client.request({ type: 'publish', room: 'docs:room', data: { text: 'hi' } });
    const res = await fetch(`${fx.server.url}/metrics`);
    const text = await res.text();
    const exposed = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) exposed.set(m[1]!, m[2]!);
    assert.ok(exposed.has('barrage_room_members'), 'the per-room series are exposed');

    const rows = table(section('`GET /metrics`'), 'metric');
    const documented = new Map<string, string>();
    const wildcards: RegExp[] = [];
    for (const row of rows) {
      for (const name of codes(row[0]!)) {
        if (name.includes('*')) wildcards.push(new RegExp(`^${name.replace('*', '.*')}$`));
        else documented.set(name, row[1]!);
      }
    }
    const undocumented = [...exposed.keys()].filter(
      (n) => !documented.has(n) && !wildcards.some((w) => w.test(n)),
    );
    assert.deepEqual(undocumented, [], 'metrics the registry exposes but http-api.md lacks');
    const missing = [...documented.keys()].filter((n) => !exposed.has(n));
    assert.deepEqual(missing, [], 'metrics http-api.md lists but the registry lacks');
    for (const [name, type] of documented) assert.equal(exposed.get(name), type, `${name} type`);

    // Labels: each series carries `node` plus the documented label (and `le` for histograms).
    for (const row of rows) {
      const name = codes(row[0]!)[0]!;
      if (name.includes('*')) continue;
      const allowed = new Set(['node', 'le', ...(row[2] ? [code(row[2])] : [])]);
      const series = text.match(new RegExp(`^${name}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm'));
      for (const s of series ?? []) {
        for (const m of s.matchAll(/(\w+)="/g))
          assert.ok(allowed.has(m[1]!), `${name}: label ${m[1]} is documented`);
      }
    }
  });

  it('the /api/stats tables list every field of a real report, and nothing else', async () => {
    const client = await fx.connect();
    await client.request({ type: 'join', room: 'docs:stats' });
    await client.request({ type: 'publish', room: 'docs:stats', data: { text: 'hi' } });
    let body: Record<string, unknown> = {};
    await waitFor(async () => {
      body = (await api(fx.server, 'GET', '/api/stats')).body;
      const nodes = body.nodes as { topRooms: unknown[] }[];
      return nodes[0]!.topRooms.length > 0;
    }, 'a room in topRooms');
    const report = (body.nodes as Record<string, unknown>[])[0]!;
    const text = section('`GET /api/stats`');
    const fields = table(text, 'field');
    const documented = new Map(fields.map((row) => [code(row[0]!), row[1]!]));

    // Every node field, plus `ageMs` (other nodes only) and `totals` (beside `nodes`).
    assert.deepEqual(
      sorted(documented.keys()),
      sorted([...Object.keys(report), 'ageMs', 'totals']),
    );
    assert.deepEqual(sorted(Object.keys(body)), ['nodes', 'totals']);
    const totals = body.totals as Record<string, unknown>;
    for (const key of Object.keys(totals))
      assert.ok(codes(documented.get('totals')!).includes(key), `totals.${key} is documented`);

    // Keys of the fixed-shape objects are named in their rows.
    for (const field of ['drops', 'brokerState']) {
      for (const key of Object.keys(report[field] as object))
        assert.ok(codes(documented.get(field)!).includes(key), `${field}.${key} is documented`);
    }
    const room = (report.topRooms as Record<string, unknown>[])[0]!;
    const roomFields = table(text, 'room field').map((row) => code(row[0]!));
    assert.deepEqual(sorted(roomFields), sorted(Object.keys(room)));
  });
});
