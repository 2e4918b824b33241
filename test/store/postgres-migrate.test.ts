/**
 * Migrating a PostgreSQL store created at schema version 4 (before the ts BRIN index of migration
 * 5), on a PostgreSQL this test starts: the store starts on it, keeps its rows, answers reads,
 * and retention deletes exactly the rows older than the cutoff, also rows written after the
 * migration (pages the BRIN index had no summary of). Migration 9 counts the alerts a database
 * at version 8 holds, and the cap applies from the next put.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { message } from '../contract/store-contract.js';
import { newAlert } from '../support/new-alert.js';
import { type PostgresProcess, startPostgres } from '../support/postgres-server.js';

let pg: PostgresProcess;
let sql: postgres.Sql;
let store: PostgresStore | null = null;
before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 1, onnotice: () => {} });
});
after(async () => {
  await store?.close();
  await sql?.end();
  await pg?.stop();
});

/** Applies the migrations up to `version` and records them, as an older Barrage left them. */
async function migrateTo(db: postgres.Sql, version: number): Promise<void> {
  await db.unsafe(MIGRATIONS_TABLE_SQL);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    if (m.postgres.trim() !== '') await db.unsafe(m.postgres);
    await db`INSERT INTO barrage_migrations VALUES (${m.version}, ${m.name}, ${Date.now()})`;
  }
}

const ROOM = 'vod:migrate';
const count = async (where: string) =>
  Number((await sql.unsafe(`SELECT count(*) AS n FROM barrage_messages WHERE ${where}`))[0]!.n);

describe('postgres migration from schema version 4', () => {
  it('applies migration 5 on a populated store; retention and reads work after', async () => {
    await migrateTo(sql, 4);
    // 5000 rows written at version 4, ts ascending with offset (as accept time grows).
    await sql.unsafe(`INSERT INTO barrage_messages (room, id, epoch, "offset", t, ts, sender, rank, data)
      SELECT '${ROOM}', 'ep1.' || o, 'ep1', o, o * 100, 1000000 + o, 'u', 0, '{}'
      FROM generate_series(1, 5000) AS o`);

    store = new PostgresStore({ url: pg.url });
    await store.start();
    const [v] = await sql`SELECT max(version) AS v FROM barrage_migrations`;
    assert.equal(Number(v!.v), SCHEMA_VERSION);
    const [ts] = await sql`SELECT indexdef FROM pg_indexes WHERE indexname = 'barrage_messages_ts'`;
    assert.match(String(ts!.indexdef), /USING brin \(ts\)/);
    // Migration 7's guarded lz4 (this machine's PostgreSQL is 14+ built with lz4), and 8's
    // search_path pinned on the trigger functions.
    const [column] = await sql`SELECT attcompression::text AS c FROM pg_attribute
      WHERE attrelid = 'barrage_segments'::regclass AND attname = 'comments'`;
    assert.equal(column!.c, 'l');
    const functions = await sql`SELECT proname, proconfig FROM pg_proc
      WHERE proname LIKE 'barrage_messages_%' ORDER BY proname`;
    assert.equal(functions.length, 3);
    for (const f of functions) assert.match(String(f.proconfig), /search_path=/, f.proname);

    // Rows written after the migration, past the pages summarized when the index was built.
    const later = Array.from({ length: 3000 }, (_, i) =>
      message(ROOM, 5001 + i, { ts: 1_000_000 + 5001 + i }),
    );
    await store.append(later);
    assert.equal(await count('true'), 8000);

    // Retention: everything before ts 1 000 000 + 6001 (offsets 1..6000), in steps of 700.
    assert.equal(await store.expire(1_000_000 + 6001, 700), 700);
    assert.equal(await store.expire(1_000_000 + 6001, 100_000), 5300);
    assert.equal(await store.expire(1_000_000 + 6001, 100_000), 0);
    assert.equal(await count('true'), 2000);
    assert.equal(await count(`ts < ${1_000_000 + 6001}`), 0);

    // Reads still answer: the newest page and a timeline range.
    const latest = await store.before({ room: ROOM, before: null, limit: 10 });
    assert.deepEqual(
      latest.map((m) => m.offset),
      Array.from({ length: 10 }, (_, i) => 7991 + i),
    );
    const range = await store.timeline({ room: ROOM, from: 600_100, to: 600_600, limit: 100 });
    assert.deepEqual(
      range.map((m) => m.offset),
      [6001, 6002, 6003, 6004, 6005],
    );
  });
});

describe('postgres migration 9 (inbox sizes)', () => {
  it('counts the alerts stored before it; the cap holds from the next put', async () => {
    await sql.unsafe('CREATE DATABASE barrage_m9');
    const url = pg.url.replace(/\/[^/]*$/, '/barrage_m9');
    const db = postgres(url, { max: 1, onnotice: () => {} });
    let m9: PostgresStore | null = null;
    try {
      await migrateTo(db, 8);
      await db.unsafe(`INSERT INTO barrage_alerts (user_id, alert, event, data, ts)
        SELECT 'u' || (i % 3), 'a' || i, 'e', '{}', i FROM generate_series(0, 29) AS i`);
      m9 = new PostgresStore({ url });
      await m9.start();
      const sizes = await db`SELECT user_id, size::int AS size FROM barrage_alert_sizes ORDER BY 1`;
      assert.deepEqual(
        sizes.map((r) => [r.user_id, r.size]),
        [
          ['u0', 10],
          ['u1', 10],
          ['u2', 10],
        ],
      );
      const put = await m9.putAlert(newAlert('u1', 'b1', 100), 5);
      assert.equal(put.size, 5);
      assert.deepEqual(put.dropped, ['a1', 'a4', 'a7', 'a10', 'a13', 'a16']);
    } finally {
      await m9?.close();
      await db.end();
    }
  });
});
