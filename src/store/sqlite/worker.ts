/**
 * The embedded store's database thread: better-sqlite3 is synchronous, so every statement runs
 * here, never on the event loop. It answers `{id, op, args}` requests from `SqliteStore` in order;
 * both ways a message carries a list (the requests of one turn, the replies of one group).
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MIGRATIONS_TABLE_SQL, pendingMigrations } from '../migrations.js';
import { fromRow, INSERT_COLUMNS, type MessageRow, toRow } from '../rows.js';
import { BEFORE_SQL, LATEST_SQL, REMOVE_SQL, TIMELINE_SQL } from '../sql.js';
import type { BeforeQuery, TimelineQuery } from '../types.js';
import { type InboxOp, inboxHandlers } from './inbox.js';
import { type PackedBatch, unpackBatch } from './packed.js';
import { segmentHandlers } from './segment.js';

/** A request from the main thread. */
export interface WorkerRequest {
  id: number;
  op:
    | 'append'
    | 'timeline'
    | 'segment'
    | 'segmentComments'
    | 'segmentCommentsFromRows'
    | 'before'
    | 'remove'
    | 'expire'
    | 'close'
    | InboxOp;
  args: unknown;
}

/** The answer to one request; `code` is SQLite's error code on failure. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code?: string };

const file = (workerData as { file: string }).file;
const port = parentPort!;

/**
 * This thread's nice value. When it and the event loop want the same core (a node pinned to one
 * core, or a busy machine), the event loop comes first: live rooms and acknowledgements are not
 * held behind a long commit, and the write queue (bounded, refusing when full) absorbs the wait.
 * Linux only: there a nice value is per thread (elsewhere it would lower the whole process).
 */
const THREAD_NICE = 5;
if (process.platform === 'linux') {
  try {
    setPriority(THREAD_NICE);
  } catch {
    // Not permitted here: the thread keeps the process's priority.
  }
}

/** Opens the file, refuses a foreign or busy one, and migrates; exits with a message on failure. */
function open(): Database.Database {
  const db = new Database(file);
  // One process per data directory: the first write takes a lock that is never released, so a
  // second Barrage on the same directory fails here with SQLITE_BUSY (see `openError`).
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('busy_timeout = 0');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Checkpoint every 4000 pages (16 MB of WAL) rather than SQLite's 1000: a page rewritten by
  // several commits in between is copied back into the database file once. Measured on this
  // schema (random media times): 10-15 % less CPU a row.
  db.pragma('wal_autocheckpoint = 4000');
  // Reads map the file (up to 1 GiB) instead of copying each page through a read() call: a
  // segment touches thousands of scattered pages of a big video.
  db.pragma('mmap_size = 1073741824');
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .pluck()
    .all() as string[];
  if (tables.length > 0 && !tables.includes('barrage_migrations')) {
    throw Object.assign(new Error(tables.slice(0, 3).join(', ')), {
      code: 'FOREIGN',
    });
  }
  db.exec('BEGIN EXCLUSIVE');
  try {
    db.exec(MIGRATIONS_TABLE_SQL);
    const current = (db.prepare('SELECT MAX(version) FROM barrage_migrations').pluck().get() ??
      0) as number;
    for (const m of pendingMigrations(current, file)) {
      db.exec(m.sqlite);
      db.prepare('INSERT INTO barrage_migrations VALUES ($1, $2, $3)').run({
        1: m.version,
        2: m.name,
        3: Date.now(),
      });
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
  return db;
}

/** Binds `[a, b, …]` to `$1, $2, …`. */
function params(values: readonly unknown[]): Record<number, unknown> {
  const named: Record<number, unknown> = {};
  values.forEach((v, i) => {
    named[i + 1] = v;
  });
  return named;
}

function serve(db: Database.Database): void {
  const placeholders = INSERT_COLUMNS.split(',').map(() => '?');
  const insert = db.prepare(
    `INSERT INTO barrage_messages (${INSERT_COLUMNS}) VALUES (${placeholders.join(',')}) ON CONFLICT (room, id) DO NOTHING`,
  );
  const touched = minutesTouched(db);
  /**
   * Inserts packed batches, in one transaction when the caller opened one, and bumps the versions
   * of the media-time minutes they touch (migration 6: stored segment copies of those minutes
   * are stale from this commit on). Deletes bump them by trigger.
   */
  const insertAll = (batches: readonly PackedBatch[]) => {
    const minutes = new Set<string>();
    for (const batch of batches) {
      for (const m of unpackBatch(batch)) {
        insert.run(toRow(m));
        if (m.t !== null) minutes.add(`${Math.floor(m.t / 60_000)}\n${m.room}`);
      }
    }
    touched(minutes);
  };
  const appendAll = db.transaction(insertAll);
  const timeline = db.prepare(TIMELINE_SQL);
  const before = db.prepare(BEFORE_SQL);
  const latest = db.prepare(LATEST_SQL);
  // Each delete answers the rows it took, whose copies then go in the same transaction.
  const remove = db.prepare(`${REMOVE_SQL} RETURNING room, t`).raw();
  const expire = db
    .prepare(
      'DELETE FROM barrage_messages WHERE seq IN (SELECT seq FROM barrage_messages WHERE ts < $1 LIMIT $2) RETURNING room, t',
    )
    .raw();
  const dropCopies = copiesDropper(db);
  const deleting = db.transaction(
    (statement: Database.Statement, bound: Record<number, unknown>) => {
      const gone = statement.all(bound) as DeletedRow[];
      dropCopies(gone);
      return gone.length;
    },
  );
  const rows = (list: unknown[]) => (list as MessageRow[]).map(fromRow);
  const handlers: Record<WorkerRequest['op'], (args: unknown) => unknown> = {
    ...inboxHandlers(db),
    append: (args) => appendAll([args as PackedBatch]),
    timeline: (args) => {
      const q = args as TimelineQuery;
      const after = q.after ?? { t: -1, id: '' };
      return rows(timeline.all(params([q.room, q.from, q.to, after.t, after.id, q.limit])));
    },
    ...segmentHandlers(db),
    before: (args) => {
      const q = args as BeforeQuery;
      return rows(
        q.before
          ? before.all(params([q.room, q.before.epoch, q.before.offset, q.limit]))
          : latest.all(params([q.room, q.limit])),
      ).reverse();
    },
    remove: (args) => {
      const { room, id } = args as { room: string; id: string };
      return deleting(remove, params([room, id])) > 0;
    },
    expire: (args) => {
      const { ts, max } = args as { ts: number; max: number };
      let total = 0;
      while (total < max) {
        const n = deleting(expire, params([ts, Math.min(10_000, max - total)]));
        total += n;
        if (n === 0) break;
      }
      return total;
    },
    close: () => {
      db.close();
      setImmediate(() => process.exit(0));
      return null;
    },
  };
  const answer = (request: WorkerRequest): WorkerReply => {
    try {
      return { id: request.id, ok: true, value: handlers[request.op](request.args) };
    } catch (err) {
      const e = err as Error & { code?: string };
      return { id: request.id, ok: false, message: e.message, code: e.code };
    }
  };
  const commitGroup = groupCommitter(db, answer);
  const commitAppends = appendCommitter(appendAll);
  // Requests that arrive while the thread is busy (a commit's flush above all) queue up; the
  // next turn drains them, inbox operations in runs of up to MAX_GROUP per transaction, appends
  // waiting one behind the other in one transaction of up to MAX_APPEND_ROWS rows.
  const queue: WorkerRequest[] = [];
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    while (queue.length > 0) {
      let n = 0;
      let replies: WorkerReply[];
      if (queue[0]!.op === 'append') {
        let rows = 0;
        while (n < queue.length && queue[n]!.op === 'append' && rows < MAX_APPEND_ROWS)
          rows += (queue[n++]!.args as PackedBatch).count;
        replies = commitAppends(queue.splice(0, n));
      } else {
        while (n < queue.length && n < MAX_GROUP && GROUPED.has(queue[n]!.op)) n++;
        replies = n === 0 ? [answer(queue.shift()!)] : commitGroup(queue.splice(0, n));
      }
      // One message per group: the main thread releases its answers a slice at a time.
      port.postMessage(replies);
    }
  };
  // The main thread posts the requests of one turn of its event loop together.
  port.on('message', (requests: WorkerRequest[]) => {
    for (const request of requests) queue.push(request);
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
  });
}

/**
 * Bumps the version of each `MINUTE\nROOM` (migration 6), in the caller's transaction. The thread
 * is the database's only writer, so one slot (0) serves.
 */
function minutesTouched(db: Database.Database): (minutes: ReadonlySet<string>) => void {
  const bump = db.prepare(`INSERT INTO barrage_segment_versions (room, minute, slot, version)
    VALUES ($1, $2, 0, 1) ON CONFLICT (room, minute, slot) DO UPDATE SET version = version + 1`);
  return (minutes) => {
    for (const key of minutes) {
      const at = key.indexOf('\n');
      bump.run({ 1: key.slice(at + 1), 2: Number(key.slice(0, at)) });
    }
  };
}

/** A deleted row's room and media time, as `DELETE … RETURNING room, t` gives it. */
type DeletedRow = [room: string, t: number | null];

/**
 * Deletes the stored copies that covered deleted rows, in the caller's transaction, so a removed
 * comment does not stay on disk in a copy (the delete trigger of migration 8 bumps the versions).
 * One range delete per run of consecutive touched minutes of a room, not one per row: a
 * retention step of 10 000 rows of one video is at most one statement per minute of it.
 */
function copiesDropper(db: Database.Database): (gone: readonly DeletedRow[]) => void {
  const drop = db.prepare(
    'DELETE FROM barrage_segments WHERE room = $1 AND from_ms < $2 AND to_ms > $3',
  );
  return (gone) => {
    const minutes = new Map<string, Set<number>>();
    for (const [room, t] of gone) {
      if (t === null) continue;
      let touched = minutes.get(room);
      if (!touched) {
        touched = new Set();
        minutes.set(room, touched);
      }
      touched.add(Math.floor(t / 60_000));
    }
    for (const [room, touched] of minutes) {
      const sorted = [...touched].sort((a, b) => a - b);
      let first = sorted[0]!;
      for (let i = 0; i < sorted.length; i++) {
        const minute = sorted[i]!;
        const next = sorted[i + 1];
        if (next === minute + 1) continue;
        // Copies overlapping minutes [first, minute]: each of them was touched.
        drop.run({ 1: room, 2: (minute + 1) * 60_000, 3: first * 60_000 });
        if (next !== undefined) first = next;
      }
    }
  };
}

/** Operations applied together in one transaction when several are waiting (group commit). */
const GROUPED = new Set<WorkerRequest['op']>([
  'putAlert',
  'inbox',
  'markRead',
  'deleteAlert',
  'expireAlerts',
  'forgetKeys',
]);
/** Most operations in one group transaction. */
const MAX_GROUP = 256;
/**
 * Appends waiting together are committed in one transaction up to this many rows. Each commit
 * writes every page it touched to the WAL, and comments at random media times touch about two
 * index pages a row: rows a page shares within one commit are written once. Measured on this
 * schema (better-sqlite3, 100 000 rows): 23 µs CPU a row in commits of 1000, 15 in 4000, 12 in
 * 8000.
 */
const MAX_APPEND_ROWS = 8000;

/**
 * Commits waiting append batches (archive.ts sends up to two at a time) in one transaction, and
 * answers each once it is durable; if the transaction fails, each is answered that failure (the
 * archive retries them: nothing of them was committed).
 */
function appendCommitter(
  appendAll: Database.Transaction<(batches: readonly PackedBatch[]) => void>,
): (group: WorkerRequest[]) => WorkerReply[] {
  return (group) => {
    try {
      appendAll(group.map((r) => r.args as PackedBatch));
    } catch (err) {
      const e = err as Error & { code?: string };
      return group.map((r) => ({ id: r.id, ok: false, message: e.message, code: e.code }));
    }
    return group.map((r) => ({ id: r.id, ok: true, value: undefined }));
  };
}

/**
 * Group commit: runs waiting inbox operations in one transaction, each in a savepoint of its own
 * (its handler's `db.transaction` nests as one), so an operation that fails is rolled back alone
 * and answered its error while the others commit. Replies are returned only after the COMMIT: a
 * caller hears `ok` only for what is durable. If the COMMIT fails, or SQLite rolled the whole
 * transaction back (as it may on a full disk or an I/O error), every operation of the group is
 * answered that failure.
 */
function groupCommitter(
  db: Database.Database,
  answer: (request: WorkerRequest) => WorkerReply,
): (group: WorkerRequest[]) => WorkerReply[] {
  const failAll = (group: WorkerRequest[], err: unknown): WorkerReply[] => {
    const e = err as Error & { code?: string };
    return group.map((r) => ({ id: r.id, ok: false, message: e.message, code: e.code }));
  };
  return (group) => {
    if (group.length === 1) return [answer(group[0]!)];
    const replies: WorkerReply[] = [];
    try {
      db.exec('BEGIN');
      for (const request of group) {
        replies.push(answer(request));
        if (!db.inTransaction) throw new Error('the group transaction was rolled back');
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      return failAll(group, err);
    }
    return replies;
  };
}

try {
  serve(open());
  port.postMessage([{ id: 0, ok: true, value: 'ready' } satisfies WorkerReply]);
} catch (err) {
  const e = err as Error & { code?: string };
  port.postMessage([{ id: 0, ok: false, message: e.message, code: e.code } satisfies WorkerReply]);
}
