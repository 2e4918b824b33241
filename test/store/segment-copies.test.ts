/**
 * Stored segment copies (migrations 6 and 7, docs/storage.md): a viewer read of an unchanged
 * segment is answered from its copy, and the copy stops being served the moment the segment
 * changes or the rendering's format does. The
 * copies are tampered with through the database itself, so a read that returns the tampered
 * text proves it came from the copy (the contract suite checks they stay exact).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/store.js';
import {
  SEGMENT_COMMENTS_SQL_POSTGRES,
  SEGMENT_FORMAT,
  SEGMENT_SECOND_COMMENTS_SQL_SQLITE,
} from '../../src/store/sql.js';
import { DATABASE_FILE, SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { message, textOf } from '../contract/store-contract.js';
import { startPostgres } from '../support/postgres-server.js';

const TAMPERED = '{"tampered":true}';
const query = (room: string) => ({ room, from: 0, to: 360_000, perSecond: 30 });

/** What a statement on the database answered, and the store to go on with. */
interface Ran {
  store: Store;
  rows: Record<string, unknown>[];
  changes: number;
}
/** Runs one statement ($1, $2… placeholders) on a store's database, beside the store. */
type OnDatabase = (s: Store, text: string, params?: unknown[]) => Promise<Ran>;

/** Replaces a room's copy with TAMPERED; returns the store to go on with. */
async function tamper(onDatabase: OnDatabase, s: Store, room: string): Promise<Store> {
  const done = await onDatabase(s, 'UPDATE barrage_segments SET comments = $1 WHERE room = $2', [
    TAMPERED,
    room,
  ]);
  assert.equal(done.changes, 1);
  return done.store;
}

/** How many copies a room has; returns the store to go on with too. */
async function copiesOf(onDatabase: OnDatabase, s: Store, room: string) {
  const ran = await onDatabase(s, 'SELECT count(*) AS n FROM barrage_segments WHERE room = $1', [
    room,
  ]);
  return { store: ran.store, count: Number(ran.rows[0]!.n) };
}

/** Writes, reads (keeping a copy), tampers with the copy and checks what the next reads answer. */
async function checkCopies(store: () => Store, onDatabase: OnDatabase): Promise<void> {
  const room = `vod:copies-${Date.now()}`;
  let s = store();
  await s.start();
  try {
    await s.append([1, 2, 3].map((o) => message(room, o)));
    const rendered = textOf(await s.segmentComments(query(room)));
    assert.equal(rendered, textOf(await s.segmentCommentsFromRows(query(room))));
    s = await tamper(onDatabase, s, room);
    assert.equal(textOf(await s.segmentComments(query(room))), TAMPERED, 'served from the copy');
    assert.equal(textOf(await s.segmentCommentsFromRows(query(room))), rendered);
    // A copy of another rendering format (an older Barrage's) is not served, and is replaced.
    s = (await onDatabase(s, 'UPDATE barrage_segments SET format = 0 WHERE room = $1', [room]))
      .store;
    assert.equal(textOf(await s.segmentComments(query(room))), rendered, 'another format');
    const formats = await onDatabase(s, 'SELECT format FROM barrage_segments WHERE room = $1', [
      room,
    ]);
    s = formats.store;
    assert.deepEqual(
      formats.rows.map((r) => Number(r.format)),
      [SEGMENT_FORMAT],
    );
    await s.append([message(room, 4)]);
    const after = textOf(await s.segmentComments(query(room)));
    assert.equal(
      after,
      textOf(await s.segmentCommentsFromRows(query(room))),
      'a write: rendered again',
    );
    assert.notEqual(after, rendered);
    s = await tamper(onDatabase, s, room);
    assert.equal(textOf(await s.segmentComments(query(room))), TAMPERED);
    assert.equal(await s.remove(room, 'ep1.2'), true);
    const removed = await copiesOf(onDatabase, s, room);
    s = removed.store;
    assert.equal(removed.count, 0, 'a delete drops the copies that held the row');
    assert.equal(
      textOf(await s.segmentComments(query(room))),
      textOf(await s.segmentCommentsFromRows(query(room))),
      'a delete: rendered again',
    );

    // A room with no comments (any name a viewer may ask for) leaves no row behind its read.
    const unknown = `${room}-unknown`;
    assert.equal(textOf(await s.segmentComments(query(unknown))), '');
    assert.equal(textOf(await s.segmentComments(query(unknown))), '');
    const none = await copiesOf(onDatabase, s, unknown);
    s = none.store;
    assert.equal(none.count, 0, 'an empty segment is not kept');
    const kept = await copiesOf(onDatabase, s, room);
    s = kept.store;
    assert.equal(kept.count, 1, 'the non-empty one is');
    assert.equal(await s.expire(Number.MAX_SAFE_INTEGER, 100_000), 3);
    const expired = await copiesOf(onDatabase, s, room);
    s = expired.store;
    assert.equal(expired.count, 0, 'an expiry drops them too');
  } finally {
    await s.close();
  }
}

/**
 * With the database refusing copies (a trigger that raises, as a read-only role or a full disk
 * would), reads still answer the rendering, and no copy is left.
 */
async function checkKeepRefused(
  store: () => Store,
  onDatabase: OnDatabase,
  refuse: string[],
): Promise<void> {
  const room = `vod:refused-${Date.now()}`;
  let s = store();
  await s.start();
  try {
    for (const statement of refuse) s = (await onDatabase(s, statement)).store;
    await s.append([1, 2, 3].map((o) => message(room, o)));
    const rendered = textOf(await s.segmentCommentsFromRows(query(room)));
    assert.notEqual(rendered, '');
    assert.equal(textOf(await s.segmentComments(query(room))), rendered, 'a first read');
    assert.equal(textOf(await s.segmentComments(query(room))), rendered, 'a second read');
    assert.deepEqual(s.health(), { ok: true });
    const copies = await copiesOf(onDatabase, s, room);
    s = copies.store;
    assert.equal(copies.count, 0);
  } finally {
    await s.close();
  }
}

describe('stored segment copies', () => {
  it('SEGMENT_FORMAT is bumped with any change of the rendering SQL', () => {
    const hash = createHash('sha256')
      .update(SEGMENT_COMMENTS_SQL_POSTGRES)
      .update('\0')
      .update(SEGMENT_SECOND_COMMENTS_SQL_SQLITE)
      .digest('hex')
      .slice(0, 16);
    // A change here means stored copies hold another rendering: bump SEGMENT_FORMAT (sql.ts),
    // then pin the new pair.
    assert.deepEqual({ format: SEGMENT_FORMAT, hash }, { format: 1, hash: '917ed4fea2410454' });
  });

  it('postgres: served while current, rendered again after a write or a delete', async () => {
    const pg = await startPostgres();
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    const onDatabase: OnDatabase = async (store, text, params = []) => {
      const result = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
      return { store, rows: [...result], changes: result.count };
    };
    const warnings: Error[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'BARRAGE_SEGMENT_KEEP') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      await checkCopies(() => new PostgresStore({ url: pg.url }), onDatabase);
      assert.equal(warnings.length, 0);
      await checkKeepRefused(() => new PostgresStore({ url: pg.url }), onDatabase, [
        `CREATE FUNCTION refuse_copies() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'copies refused'; END $$`,
        `CREATE TRIGGER refuse_copies BEFORE INSERT OR UPDATE ON barrage_segments
         FOR EACH ROW EXECUTE FUNCTION refuse_copies()`,
      ]);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 1, 'said once');
      assert.match(warnings[0]!.message, /copies refused/);
    } finally {
      process.off('warning', onWarning);
      await sql.end({ timeout: 2 });
      await pg.stop();
    }
  });

  it('sqlite: served while current (across a restart), rendered again after a change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-copies-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const onDatabase: OnDatabase = async (s, text, params = []) => {
      // The store holds the file exclusively: run it while the store is closed, then open it
      // again.
      await s.close();
      const db = new Database(join(dir, DATABASE_FILE));
      let ran: Omit<Ran, 'store'>;
      try {
        const statement = db.prepare(text);
        const bound =
          params.length > 0 ? [Object.fromEntries(params.map((v, i) => [i + 1, v]))] : [];
        ran = statement.reader
          ? { rows: statement.all(...bound) as Record<string, unknown>[], changes: 0 }
          : { rows: [], changes: statement.run(...bound).changes };
      } finally {
        db.close();
      }
      const next = new SqliteStore(dir);
      await next.start();
      return { store: next, ...ran };
    };
    await checkCopies(() => new SqliteStore(dir), onDatabase);
    await checkKeepRefused(() => new SqliteStore(dir), onDatabase, [
      `CREATE TRIGGER refuse_copies BEFORE INSERT ON barrage_segments
       BEGIN SELECT RAISE(ABORT, 'copies refused'); END`,
    ]);
  });
});
