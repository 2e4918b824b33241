/**
 * The versioned schema of both SQL backends. A migration is applied once, in order, inside a
 * transaction that also records it in `barrage_migrations`; a database that records a version
 * newer than this code knows is refused (an older Barrage must not write to a newer schema).
 * Never edit an applied migration: add the next version.
 */

/** One schema change, in the dialect of each backend (empty: nothing to do on that one). */
export interface Migration {
  version: number;
  name: string;
  postgres: string;
  sqlite: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'messages',
    postgres: `
      CREATE TABLE barrage_messages (
        seq bigserial PRIMARY KEY,
        room text NOT NULL,
        id text NOT NULL,
        epoch text NOT NULL,
        "offset" bigint NOT NULL,
        t integer,
        ts bigint NOT NULL,
        sender text,
        priority smallint NOT NULL DEFAULT 0,
        rank integer NOT NULL,
        data text NOT NULL,
        UNIQUE (room, id)
      );
      CREATE INDEX barrage_messages_timeline ON barrage_messages (room, t, id) WHERE t IS NOT NULL;
      CREATE INDEX barrage_messages_position ON barrage_messages (room, epoch, "offset");
      CREATE INDEX barrage_messages_room_seq ON barrage_messages (room, seq);
      CREATE INDEX barrage_messages_ts ON barrage_messages (ts);`,
    sqlite: `
      CREATE TABLE barrage_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL,
        id TEXT NOT NULL,
        epoch TEXT NOT NULL,
        "offset" INTEGER NOT NULL,
        t INTEGER,
        ts INTEGER NOT NULL,
        sender TEXT,
        priority INTEGER NOT NULL DEFAULT 0,
        rank INTEGER NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (room, id)
      );
      CREATE INDEX barrage_messages_timeline ON barrage_messages (room, t, id) WHERE t IS NOT NULL;
      CREATE INDEX barrage_messages_position ON barrage_messages (room, epoch, "offset");
      CREATE INDEX barrage_messages_room_seq ON barrage_messages (room, seq);
      CREATE INDEX barrage_messages_ts ON barrage_messages (ts);`,
  },
  {
    // Viewer segments read each second's first places in the density rule's order from this
    // index (sql.ts: one range per second that stops after the places), instead of ranking
    // every row of the segment. Built in the migration's transaction: writes wait for it.
    version: 2,
    name: 'density index',
    postgres: `CREATE INDEX barrage_messages_density ON barrage_messages
      (room, (t / 1000), priority DESC, rank, id COLLATE "C") WHERE t IS NOT NULL;`,
    sqlite: `CREATE INDEX barrage_messages_density ON barrage_messages
      (room, (t / 1000), priority DESC, rank, id) WHERE t IS NOT NULL;`,
  },
  {
    version: 3,
    name: 'alerts',
    postgres: `
      CREATE TABLE barrage_alerts (
        seq bigserial PRIMARY KEY,
        user_id text NOT NULL,
        alert text NOT NULL UNIQUE,
        event text NOT NULL,
        data text NOT NULL,
        ts bigint NOT NULL,
        expires_at bigint,
        collapse_key text,
        read_at bigint
      );
      CREATE INDEX barrage_alerts_user ON barrage_alerts (user_id, seq);
      CREATE INDEX barrage_alerts_expiry ON barrage_alerts (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE barrage_alert_keys (
        user_id text NOT NULL,
        key text NOT NULL,
        alert text NOT NULL,
        ts bigint NOT NULL,
        PRIMARY KEY (user_id, key)
      );
      CREATE INDEX barrage_alert_keys_ts ON barrage_alert_keys (ts);
      CREATE TABLE barrage_alert_drops (
        user_id text PRIMARY KEY,
        count bigint NOT NULL,
        last_ts bigint NOT NULL
      );`,
    sqlite: `
      CREATE TABLE barrage_alerts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        alert TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        ts INTEGER NOT NULL,
        expires_at INTEGER,
        collapse_key TEXT,
        read_at INTEGER
      );
      CREATE INDEX barrage_alerts_user ON barrage_alerts (user_id, seq);
      CREATE INDEX barrage_alerts_expiry ON barrage_alerts (expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE barrage_alert_keys (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        alert TEXT NOT NULL,
        ts INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)
      );
      CREATE INDEX barrage_alert_keys_ts ON barrage_alert_keys (ts);
      CREATE TABLE barrage_alert_drops (
        user_id TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_ts INTEGER NOT NULL
      );`,
  },
  {
    // Viewer segments (sql.ts) read only what a rendered comment needs, and on SQLite all of it
    // comes from this index: the density order as before, then t, ts, sender and data, so a
    // segment never visits the table (whose rows lie in commit order, a random page each). It
    // replaces the density index, whose keys are its prefix. Not on PostgreSQL: a B-tree entry
    // holds at most ~2.7 kB, less than a comment may carry, and an index-only scan needs a
    // vacuumed visibility map; its density index stays. Built in the migration's transaction.
    version: 4,
    name: 'segment index',
    postgres: '',
    sqlite: `
      CREATE INDEX barrage_messages_segment ON barrage_messages
        (room, (t / 1000), priority DESC, rank, id, t, ts, sender, data) WHERE t IS NOT NULL;
      DROP INDEX barrage_messages_density;`,
  },
  {
    // Retention (`expire`: rows with ts before a cutoff) is the only reader of the ts index, and
    // ts is the accept time, so rows reach the heap in about ts order: a BRIN index (one summary
    // of min/max ts per 128 pages) finds the old pages as well as a B-tree found the old rows,
    // and costs an insert almost nothing (the B-tree was ~2 µs of backend CPU a row, of ~20).
    // Pages past the last summarized range are summarized by `expire` before it deletes (an
    // unsummarized range always matches, and this machine's autovacuum may be off);
    // autosummarize lets autovacuum do it too where it runs. SQLite has no BRIN: unchanged.
    version: 5,
    name: 'ts brin',
    postgres: `
      DROP INDEX barrage_messages_ts;
      CREATE INDEX barrage_messages_ts ON barrage_messages USING brin (ts) WITH (autosummarize = on);`,
    sqlite: '',
  },
  {
    // Stored copies of rendered viewer segments (sql.ts, docs/storage.md "Stored
    // segment copies"): a read of an unchanged segment fetches one value instead of ~11 000
    // scattered rows. A copy is served only while its fingerprint (the sum of the versions of the
    // media-time minutes it covers) is current; every change of barrage_messages bumps the
    // versions of the minutes it touches in its own transaction: on PostgreSQL by statement
    // triggers (so every node and every path, writer, moderation, retention, is covered), on
    // SQLite by its single database thread for inserts and by row triggers for deletes. A delete
    // also drops the copies that held the row, so a removed comment does not linger on disk.
    // Versions are kept per `slot` (the writing backend's pid % 8): the writer's parts insert
    // side by side and would otherwise wait on each other's version rows until commit.
    // (Edited once after it was applied, before any release: its `COMPRESSION lz4` moved to
    // migration 7, guarded, since it aborted this migration on PostgreSQL < 14 or without lz4.)
    version: 6,
    name: 'segment copies',
    postgres: `
      CREATE TABLE barrage_segment_versions (
        room text NOT NULL,
        minute integer NOT NULL,
        slot smallint NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (room, minute, slot)
      );
      CREATE TABLE barrage_segments (
        room text NOT NULL,
        from_ms integer NOT NULL,
        to_ms integer NOT NULL,
        per_second integer NOT NULL,
        fingerprint bigint NOT NULL,
        comments text NOT NULL,
        PRIMARY KEY (room, from_ms, to_ms, per_second)
      );
      CREATE FUNCTION barrage_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO barrage_segment_versions AS v (room, minute, slot, version)
          SELECT room, t / 60000, pg_backend_pid() % 8, 1 FROM new_rows WHERE t IS NOT NULL
          GROUP BY 1, 2 ORDER BY 1, 2
          ON CONFLICT (room, minute, slot) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION barrage_messages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO barrage_segment_versions AS v (room, minute, slot, version)
          SELECT room, t / 60000, pg_backend_pid() % 8, 1 FROM old_rows WHERE t IS NOT NULL
          GROUP BY 1, 2 ORDER BY 1, 2
          ON CONFLICT (room, minute, slot) DO UPDATE SET version = v.version + 1;
        DELETE FROM barrage_segments s
          USING (SELECT DISTINCT room, t / 60000 AS minute FROM old_rows WHERE t IS NOT NULL) c
          WHERE s.room = c.room AND s.from_ms < (c.minute + 1) * 60000 AND s.to_ms > c.minute * 60000;
        RETURN NULL;
      END $$;
      CREATE FUNCTION barrage_messages_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Versions stay (they only ever grow); every copy goes.
        DELETE FROM barrage_segments;
        RETURN NULL;
      END $$;
      CREATE TRIGGER barrage_messages_inserted AFTER INSERT ON barrage_messages
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION barrage_messages_inserted();
      CREATE TRIGGER barrage_messages_deleted AFTER DELETE ON barrage_messages
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION barrage_messages_deleted();
      CREATE TRIGGER barrage_messages_truncated AFTER TRUNCATE ON barrage_messages
        FOR EACH STATEMENT EXECUTE FUNCTION barrage_messages_truncated();`,
    sqlite: `
      CREATE TABLE barrage_segment_versions (
        room TEXT NOT NULL,
        minute INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (room, minute, slot)
      ) WITHOUT ROWID;
      CREATE TABLE barrage_segments (
        room TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        per_second INTEGER NOT NULL,
        fingerprint INTEGER NOT NULL,
        comments TEXT NOT NULL,
        PRIMARY KEY (room, from_ms, to_ms, per_second)
      );
      CREATE TRIGGER barrage_messages_deleted AFTER DELETE ON barrage_messages
        WHEN OLD.t IS NOT NULL BEGIN
        INSERT INTO barrage_segment_versions (room, minute, slot, version)
          VALUES (OLD.room, OLD.t / 60000, 0, 1)
          ON CONFLICT (room, minute, slot) DO UPDATE SET version = version + 1;
        DELETE FROM barrage_segments WHERE room = OLD.room
          AND from_ms < (OLD.t / 60000 + 1) * 60000 AND to_ms > (OLD.t / 60000) * 60000;
      END;`,
  },
  {
    // Copies carry the version of the rendering they hold (sql.ts SEGMENT_FORMAT), and are
    // served only at this code's: a change of what a segment renders to never serves bytes
    // rendered before it. Copies of before this migration are format 0, never served, replaced
    // by the next read. PostgreSQL: the copy text is compressed with lz4 where the server can
    // (14+, built with lz4); elsewhere pglz, PostgreSQL's default, and the migration still runs.
    version: 7,
    name: 'segment copy format',
    postgres: `
      ALTER TABLE barrage_segments ADD COLUMN format integer NOT NULL DEFAULT 0;
      DO $$ BEGIN
        IF current_setting('server_version_num')::int >= 140000 THEN
          -- Dynamic: older servers cannot parse the statement at all.
          EXECUTE 'ALTER TABLE barrage_segments ALTER COLUMN comments SET COMPRESSION lz4';
        END IF;
      EXCEPTION WHEN feature_not_supported THEN NULL; -- a server built without lz4
      END $$;`,
    sqlite: `
      ALTER TABLE barrage_segments ADD COLUMN format INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    // Deletes and copies. PostgreSQL: the delete trigger locks the copies it drops in key order
    // first, so two deletes on two nodes touching the same segments wait for each other instead
    // of deadlocking (a plain DELETE … USING locks in plan order); the trigger functions run with
    // the search_path they were created with, whatever a tool's session sets. SQLite: the row
    // trigger only bumps versions; the database thread's remove and expire drop the copies once
    // per run of touched minutes (worker.ts), not one copy-range scan per deleted row. A delete
    // by another program still makes copies stale (never served): they stay on disk until the
    // next read of the segment replaces them.
    version: 8,
    name: 'segment copy deletes',
    postgres: `
      CREATE OR REPLACE FUNCTION barrage_messages_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO barrage_segment_versions AS v (room, minute, slot, version)
          SELECT room, t / 60000, pg_backend_pid() % 8, 1 FROM old_rows WHERE t IS NOT NULL
          GROUP BY 1, 2 ORDER BY 1, 2
          ON CONFLICT (room, minute, slot) DO UPDATE SET version = v.version + 1;
        PERFORM 1 FROM barrage_segments s
          WHERE EXISTS (SELECT 1 FROM old_rows o WHERE o.t IS NOT NULL AND o.room = s.room
            AND s.from_ms < (o.t / 60000 + 1) * 60000 AND s.to_ms > (o.t / 60000) * 60000)
          ORDER BY s.room, s.from_ms, s.to_ms, s.per_second FOR UPDATE;
        DELETE FROM barrage_segments s
          USING (SELECT DISTINCT room, t / 60000 AS minute FROM old_rows WHERE t IS NOT NULL) c
          WHERE s.room = c.room AND s.from_ms < (c.minute + 1) * 60000 AND s.to_ms > c.minute * 60000;
        RETURN NULL;
      END $$;
      ALTER FUNCTION barrage_messages_inserted() SET search_path FROM CURRENT;
      ALTER FUNCTION barrage_messages_deleted() SET search_path FROM CURRENT;
      ALTER FUNCTION barrage_messages_truncated() SET search_path FROM CURRENT;`,
    sqlite: `
      DROP TRIGGER barrage_messages_deleted;
      CREATE TRIGGER barrage_messages_deleted AFTER DELETE ON barrage_messages
        WHEN OLD.t IS NOT NULL BEGIN
        INSERT INTO barrage_segment_versions (room, minute, slot, version)
          VALUES (OLD.room, OLD.t / 60000, 0, 1)
          ON CONFLICT (room, minute, slot) DO UPDATE SET version = version + 1;
      END;`,
  },
  {
    // The per-user cap at its limit (inbox-steps.ts putAlertSteps). Every stored push counted the
    // user's alerts and, over the cap, sorted all of them to find the oldest to drop: at 1000
    // alerts a put took ~33x the time of one to a small inbox on SQLite and ~12x on PostgreSQL.
    // Now each user's size is kept in barrage_alert_sizes by row triggers (so every insert and
    // delete, whatever path or program runs it, keeps it true; Barrage never changes an alert's
    // user_id, and an UPDATE that did would not be counted; a user's row goes at 0), and
    // the trim takes the oldest read alerts from a partial index of read ones (a stored push, which
    // is unread, never touches it), then the oldest of the rest from (user_id, seq).
    // PostgreSQL: the table is locked while the sizes are first counted, so no write of an older
    // node slips between the count and the trigger.
    version: 9,
    name: 'inbox sizes',
    postgres: `
      LOCK TABLE barrage_alerts IN SHARE ROW EXCLUSIVE MODE;
      CREATE TABLE barrage_alert_sizes (
        user_id text PRIMARY KEY,
        size bigint NOT NULL
      );
      INSERT INTO barrage_alert_sizes (user_id, size)
        SELECT user_id, count(*) FROM barrage_alerts GROUP BY user_id;
      CREATE INDEX barrage_alerts_read ON barrage_alerts (user_id, seq) WHERE read_at IS NOT NULL;
      CREATE FUNCTION barrage_alerts_counted() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO barrage_alert_sizes AS s (user_id, size) VALUES (NEW.user_id, 1)
            ON CONFLICT (user_id) DO UPDATE SET size = s.size + 1;
        ELSE
          DELETE FROM barrage_alert_sizes WHERE user_id = OLD.user_id AND size <= 1;
          IF NOT FOUND THEN
            UPDATE barrage_alert_sizes SET size = size - 1 WHERE user_id = OLD.user_id;
          END IF;
        END IF;
        RETURN NULL;
      END $$;
      CREATE FUNCTION barrage_alerts_truncated() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        DELETE FROM barrage_alert_sizes;
        RETURN NULL;
      END $$;
      CREATE TRIGGER barrage_alerts_counted AFTER INSERT OR DELETE ON barrage_alerts
        FOR EACH ROW EXECUTE FUNCTION barrage_alerts_counted();
      CREATE TRIGGER barrage_alerts_truncated AFTER TRUNCATE ON barrage_alerts
        FOR EACH STATEMENT EXECUTE FUNCTION barrage_alerts_truncated();`,
    sqlite: `
      CREATE TABLE barrage_alert_sizes (
        user_id TEXT PRIMARY KEY,
        size INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO barrage_alert_sizes (user_id, size)
        SELECT user_id, COUNT(*) FROM barrage_alerts GROUP BY user_id;
      CREATE INDEX barrage_alerts_read ON barrage_alerts (user_id, seq) WHERE read_at IS NOT NULL;
      CREATE TRIGGER barrage_alerts_counted AFTER INSERT ON barrage_alerts BEGIN
        INSERT INTO barrage_alert_sizes (user_id, size) VALUES (NEW.user_id, 1)
          ON CONFLICT (user_id) DO UPDATE SET size = size + 1;
      END;
      CREATE TRIGGER barrage_alerts_uncounted AFTER DELETE ON barrage_alerts BEGIN
        DELETE FROM barrage_alert_sizes WHERE user_id = OLD.user_id AND size <= 1;
        UPDATE barrage_alert_sizes SET size = size - 1 WHERE user_id = OLD.user_id;
      END;`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The table that records applied migrations (same in both dialects). */
export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS barrage_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;

/** The migrations still to apply on a database at `current`; throws when it is newer than us. */
export function pendingMigrations(current: number, where: string): Migration[] {
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `${where} has schema version ${current}, newer than this Barrage knows (${SCHEMA_VERSION}): upgrade Barrage`,
    );
  }
  return MIGRATIONS.filter((m) => m.version > current);
}
