/**
 * The embedded store's files: a second process on the same data directory is refused with a clear
 * message, a foreign or corrupt file is reported and left untouched, and comments survive a
 * restart; a request the thread cannot be sent rejects its caller. Real `barrage` processes and
 * real files. Migration 9 counts the alerts a database already holds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from '../../src/store/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { newAlert } from '../support/new-alert.js';
import { api, startServer } from '../support/server.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-data-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'src', 'cli', 'index.ts')];

/** Runs `barrage ARGS` to its end. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BARRAGE_')) env[k] = v;
    const child = spawn(process.execPath, [...CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('embedded store files', () => {
  it('refuses a second process on the same data directory, naming it', async () => {
    const dir = tempDir();
    const first = new SqliteStore(dir);
    await first.start();
    try {
      const r = await run(['serve', '--port', '0', '--store', 'embedded', '--data-dir', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /BARRAGE_ERR_STORE/);
      assert.match(r.stderr, /in use by another Barrage process/);
      assert.ok(r.stderr.includes(dir), r.stderr);
    } finally {
      await first.close();
    }
  });

  it('reports a file that is not a database and leaves it untouched', async () => {
    const dir = tempDir();
    const junk = 'this is not a database, it is a text file\n'.repeat(100);
    writeFileSync(join(dir, 'barrage.db'), junk);
    await assert.rejects(new SqliteStore(dir).start(), /not a readable Barrage database/);
    assert.equal(readFileSync(join(dir, 'barrage.db'), 'utf8'), junk);
  });

  it("reports another program's SQLite database and leaves it untouched", async () => {
    const dir = tempDir();
    const other = new Database(join(dir, 'barrage.db'));
    other.exec('CREATE TABLE invoices (n INTEGER); INSERT INTO invoices VALUES (42)');
    other.close();
    await assert.rejects(new SqliteStore(dir).start(), /database of another program \(invoices\)/);
    const again = new Database(join(dir, 'barrage.db'));
    assert.deepEqual(again.prepare('SELECT name FROM sqlite_master').pluck().all(), ['invoices']);
    again.close();
  });

  it('barrage db migrate applies the schema and says its version', async () => {
    const dir = tempDir();
    const r = await run(['db', 'migrate', '--store', 'embedded', '--data-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sqlite: schema at version \d+/);
    const db = new Database(join(dir, 'barrage.db'), { readonly: true });
    assert.ok((db.prepare('SELECT COUNT(*) FROM barrage_migrations').pluck().get() as number) >= 1);
    db.close();
  });

  it('migration 9 counts the alerts stored before it; the cap holds from the next put', async () => {
    const dir = tempDir();
    const db = new Database(join(dir, 'barrage.db'));
    db.exec(MIGRATIONS_TABLE_SQL);
    for (const m of MIGRATIONS.filter((x) => x.version <= 8)) {
      db.exec(m.sqlite);
      db.prepare('INSERT INTO barrage_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0);
    }
    const insert = db.prepare(`INSERT INTO barrage_alerts (user_id, alert, event, data, ts)
      VALUES (?, ?, 'e', '{}', ?)`);
    for (let i = 0; i < 30; i++) insert.run(`u${i % 3}`, `a${i}`, i);
    db.close();
    const store = new SqliteStore(dir);
    await store.start();
    try {
      const capped = await store.putAlert(newAlert('u1', 'b1', 100), 5);
      assert.equal(capped.size, 5);
      assert.deepEqual(capped.dropped, ['a1', 'a4', 'a7', 'a10', 'a13', 'a16']);
      assert.equal((await store.putAlert(newAlert('u0', 'b2', 100), 100)).size, 11);
    } finally {
      await store.close();
    }
    // Read after the store let go of the file (it holds it exclusively while open).
    const check = new Database(join(dir, 'barrage.db'), { readonly: true });
    const sizes = check.prepare('SELECT user_id, size FROM barrage_alert_sizes ORDER BY 1').all();
    check.close();
    assert.deepEqual(sizes, [
      { user_id: 'u0', size: 11 },
      { user_id: 'u1', size: 5 },
      { user_id: 'u2', size: 10 },
    ]);
  });

  it('keeps timeline comments across a server restart', async () => {
    const dir = tempDir();
    const options = { store: 'embedded', dataDir: dir } as const;
    const first = await startServer(options);
    const published = await api(first, 'POST', '/api/publish', {
      room: 'vod:restart',
      data: { text: 'still here' },
      t: 42_000,
    });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    await first.close();
    const second = await startServer(options);
    try {
      const r = await api(second, 'GET', '/api/rooms/vod:restart/timeline?from=0&to=60000');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const comments = r.body.comments as { t: number; data: unknown }[];
      assert.deepEqual(
        comments.map((c) => [c.t, c.data]),
        [[42_000, { text: 'still here' }]],
      );
    } finally {
      await second.close();
    }
  });

  it('barrage timeline seed fills a room with a spread of comments', async () => {
    const server = await startServer({ store: 'embedded', dataDir: tempDir() });
    try {
      const r = await run([
        'timeline',
        'seed',
        'vod:seeded',
        '--count',
        '300',
        '--url',
        server.url,
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /vod:seeded: 300 comments seeded/);
      const page = await api(server, 'GET', '/api/rooms/vod:seeded/timeline?limit=1000');
      const comments = page.body.comments as { t: number; priority?: string }[];
      assert.equal(comments.length, 300);
      assert.ok(comments.every((c) => c.t >= 0 && c.t < 600_000));
      const minutes = new Set(comments.map((c) => Math.floor(c.t / 60_000)));
      assert.ok(minutes.size >= 8, `spread over the video: ${minutes.size} of 10 minutes`);
    } finally {
      await server.close();
    }
  });

  it('a request that cannot be posted to the database thread rejects its callers', async () => {
    const store = new SqliteStore(tempDir());
    await store.start();
    try {
      // A function cannot be cloned into the thread: postMessage throws (DataCloneError).
      const unclonable = { room: 'vod:x', from: 0, to: 1, limit: 1, after: () => {} };
      const query = unclonable as unknown as Parameters<SqliteStore['timeline']>[0];
      const same = { room: 'vod:x', from: 0, to: 1, limit: 1 };
      const [bad, alongside] = await Promise.allSettled([
        store.timeline(query),
        store.timeline(same),
      ]);
      assert.equal(bad.status, 'rejected');
      assert.match(
        String((bad as PromiseRejectedResult).reason),
        /not sent to the database thread/,
      );
      assert.equal(alongside.status, 'rejected', 'posted in the same message');
      assert.deepEqual(await store.timeline(same), [], 'the store goes on');
    } finally {
      await store.close();
    }
  });
});
