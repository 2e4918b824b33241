/**
 * Stored segment copies (migration 6, docs/storage.md): a viewer read of an unchanged segment is
 * answered from its copy, and the copy stops being served the moment the segment changes. The
 * copies are tampered with through the database itself, so a read that returns the tampered
 * text proves it came from the copy (the contract suite checks they stay exact).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { DATABASE_FILE, SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { message, textOf } from '../contract/store-contract.js';
import { startPostgres } from '../support/postgres-server.js';

const TAMPERED = '{"tampered":true}';
const query = (room: string) => ({ room, from: 0, to: 360_000, perSecond: 30 });

/**
 * Writes, reads (keeping a copy), tampers with the copy and checks what the next reads answer.
 * `tamper` replaces the room's copy and returns the store to go on with.
 */
async function checkCopies(
  store: () => Store,
  tamper: (s: Store, room: string) => Promise<Store>,
): Promise<void> {
  const room = `vod:copies-${Date.now()}`;
  let s = store();
  await s.start();
  try {
    await s.append([1, 2, 3].map((o) => message(room, o)));
    const rendered = textOf(await s.segmentComments(query(room)));
    assert.equal(rendered, textOf(await s.segmentCommentsFromRows(query(room))));
    s = await tamper(s, room);
    assert.equal(textOf(await s.segmentComments(query(room))), TAMPERED, 'served from the copy');
    assert.equal(textOf(await s.segmentCommentsFromRows(query(room))), rendered);
    await s.append([message(room, 4)]);
    const after = textOf(await s.segmentComments(query(room)));
    assert.equal(
      after,
      textOf(await s.segmentCommentsFromRows(query(room))),
      'a write: rendered again',
    );
    assert.notEqual(after, rendered);
    s = await tamper(s, room);
    assert.equal(textOf(await s.segmentComments(query(room))), TAMPERED);
    assert.equal(await s.remove(room, 'ep1.2'), true);
    assert.equal(
      textOf(await s.segmentComments(query(room))),
      textOf(await s.segmentCommentsFromRows(query(room))),
      'a delete: rendered again',
    );
  } finally {
    await s.close();
  }
}

describe('stored segment copies', () => {
  it('postgres: served while current, rendered again after a write or a delete', async () => {
    const pg = await startPostgres();
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await checkCopies(
        () => new PostgresStore({ url: pg.url }),
        async (s, room) => {
          const done =
            await sql`UPDATE barrage_segments SET comments = ${TAMPERED} WHERE room = ${room}`;
          assert.equal(done.count, 1);
          return s;
        },
      );
    } finally {
      await sql.end({ timeout: 2 });
      await pg.stop();
    }
  });

  it('sqlite: served while current (across a restart), rendered again after a change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'barrage-copies-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    await checkCopies(
      () => new SqliteStore(dir),
      async (s, room) => {
        // The store holds the file exclusively: tamper while it is closed, then open it again.
        await s.close();
        const db = new Database(join(dir, DATABASE_FILE));
        try {
          const done = db
            .prepare('UPDATE barrage_segments SET comments = ? WHERE room = ?')
            .run(TAMPERED, room);
          assert.equal(done.changes, 1);
        } finally {
          db.close();
        }
        const next = new SqliteStore(dir);
        await next.start();
        return next;
      },
    );
  });
});
