/**
 * The alert inbox's statements and the order they run in, written once for both SQL backends.
 * Each operation is a generator that yields one statement at a time and receives its rows; the
 * SQLite thread runs it synchronously inside a transaction, PostgreSQL awaits each step inside
 * `sql.begin`. The SQL is the same in both dialects except for how a JSON list of ids is read.
 */
import {
  ALERT_KEY_TTL_MS,
  type ExpiredAlert,
  type InboxPage,
  type InboxQuery,
  type MarkReadResult,
  type NewAlert,
  type PutAlertResult,
} from './inbox.js';

/** One statement with its parameters (`$1`, `$2`, …). */
export interface Step {
  sql: string;
  params: unknown[];
}

/** Rows as both drivers return them (numbers may come back as strings or bigints). */
export type Rows = Record<string, unknown>[];

/** An operation: yields statements, receives their rows, returns its result. */
export type Steps<R> = Generator<Step, R, Rows>;

/** The SQL dialect: only the reading of a JSON array of ids differs. */
export type Dialect = 'sqlite' | 'postgres';

/** Alerts not expired at `$n`. */
const live = (n: number) => `(expires_at IS NULL OR expires_at > $${n})`;

/**
 * The first key of the inbox's advisory locks on PostgreSQL (`pg_advisory_xact_lock(int, int)`,
 * a key space apart from the one-bigint form the migrations lock uses); the second is
 * hashtext(user id). A hash collision only makes two users wait for each other.
 */
export const INBOX_LOCK_CLASS = 0x62726769;

/**
 * PostgreSQL: locks the users in $1 (a JSON array of ids) in the order of their keys, waiting
 * for each. Every transaction that writes a user's alerts takes its users' locks before it
 * touches a row (a group, inbox-group.ts, with this one statement; the sweeps through `tryLock`), so
 * a user's rows and size are written by one transaction at a time, two groups never wait for
 * each other in a cycle (the subquery's ORDER BY fixes the order the outer call takes them in),
 * and two nodes storing for one user run the cap's count and trim one after the other.
 */
export const LOCK_USERS = `SELECT count(pg_advisory_xact_lock(${INBOX_LOCK_CLASS}, k)) AS n FROM
  (SELECT DISTINCT hashtext(u) AS k FROM json_array_elements_text($1::text::json) AS u
  ORDER BY 1) AS keys`;

/**
 * PostgreSQL's sweeps: up to $2 rows of `from` matching `where`, of users whose lock this
 * transaction takes without waiting, the rows of other users passed over. A sweep never waits for
 * a lock, so it never joins a cycle; a user busy in a group does not stop it from reaching the
 * rows behind that user's; and the nodes' sweeps share the rows instead of queueing on the same
 * users. `OFFSET 0` keeps the volatile lock call out of the inner scan, so it runs only on
 * matching rows, and LIMIT stops the scan (and the locking) at $2 rows taken.
 */
const tryLock = (columns: string, from: string, where: string) =>
  `SELECT ${columns} FROM (SELECT ${columns} FROM ${from} WHERE ${where} OFFSET 0) AS candidates
  WHERE pg_try_advisory_xact_lock(${INBOX_LOCK_CLASS}, hashtext(user_id)) LIMIT $2`;

/** The statements of one dialect. */
export function inboxSql(dialect: Dialect) {
  const ids = (n: number) =>
    dialect === 'sqlite'
      ? `(SELECT value FROM json_each($${n}))`
      : `(SELECT value FROM json_array_elements_text($${n}::text::json))`;
  const columns = 'alert, event, data, ts, read_at, expires_at';
  return {
    /** Takes the key unless it is held and younger than $5; returns a row when taken. */
    claimKey: `INSERT INTO barrage_alert_keys (user_id, key, alert, ts) VALUES ($1, $2, $3, $4)
      ON CONFLICT (user_id, key) DO UPDATE SET alert = excluded.alert, ts = excluded.ts
      WHERE barrage_alert_keys.ts < $5 RETURNING alert`,
    keyOwner: 'SELECT alert FROM barrage_alert_keys WHERE user_id = $1 AND key = $2',
    collapse: `DELETE FROM barrage_alerts WHERE user_id = $1 AND collapse_key = $2 AND read_at IS NULL
      RETURNING alert`,
    insert: `INSERT INTO barrage_alerts (user_id, alert, event, data, ts, expires_at, collapse_key)
      VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    /** Kept by triggers (migration 9): one key read, not a count of the user's alerts. */
    size: 'SELECT size AS n FROM barrage_alert_sizes WHERE user_id = $1',
    /** The $2 oldest read alerts of a user (from the partial index barrage_alerts_read). */
    trimRead: `DELETE FROM barrage_alerts WHERE seq IN (SELECT seq FROM barrage_alerts WHERE user_id = $1
      AND read_at IS NOT NULL ORDER BY seq LIMIT $2) RETURNING seq, alert, read_at, expires_at`,
    /** The $2 oldest alerts of a user: after trimRead fell short, all of them are unread. */
    trimOldest: `DELETE FROM barrage_alerts WHERE seq IN (SELECT seq FROM barrage_alerts WHERE user_id = $1
      ORDER BY seq LIMIT $2) RETURNING seq, alert, read_at, expires_at`,
    countDrops: `INSERT INTO barrage_alert_drops (user_id, count, last_ts) VALUES ($1, $2, $3)
      ON CONFLICT (user_id) DO UPDATE SET count = barrage_alert_drops.count + excluded.count,
      last_ts = excluded.last_ts RETURNING count, last_ts`,
    drops: 'SELECT count, last_ts FROM barrage_alert_drops WHERE user_id = $1',
    page: `SELECT ${columns} FROM barrage_alerts WHERE user_id = $1 AND ${live(2)}
      ORDER BY seq LIMIT $3`,
    unreadPage: `SELECT ${columns} FROM barrage_alerts WHERE user_id = $1 AND ${live(2)}
      AND read_at IS NULL ORDER BY seq LIMIT $3`,
    unreadCount: `SELECT COUNT(*) AS n FROM barrage_alerts WHERE user_id = $1 AND ${live(2)}
      AND read_at IS NULL`,
    markSome: `UPDATE barrage_alerts SET read_at = $2 WHERE user_id = $1 AND ${live(2)}
      AND read_at IS NULL AND alert IN ${ids(3)} RETURNING alert, ts, seq`,
    markAll: `UPDATE barrage_alerts SET read_at = $2 WHERE user_id = $1 AND ${live(2)}
      AND read_at IS NULL RETURNING alert, ts, seq`,
    known: `SELECT alert FROM barrage_alerts WHERE user_id = $1 AND ${live(2)} AND alert IN ${ids(3)}`,
    remove: `DELETE FROM barrage_alerts WHERE user_id = $1 AND alert = $2
      RETURNING read_at, expires_at`,
    /** The sweep. PostgreSQL: only alerts of users it locks (see `tryLock`; a volatile CTE runs once). */
    expire:
      dialect === 'sqlite'
        ? `DELETE FROM barrage_alerts WHERE seq IN (SELECT seq FROM barrage_alerts
      WHERE expires_at <= $1 LIMIT $2) RETURNING user_id, alert, read_at`
        : `WITH doomed AS (${tryLock('seq, user_id', 'barrage_alerts', 'expires_at <= $1')})
      DELETE FROM barrage_alerts WHERE expires_at <= $1 AND seq IN (SELECT seq FROM doomed)
      RETURNING user_id, alert, read_at`,
    /** The key sweep, the same way. */
    forgetKeys:
      dialect === 'sqlite'
        ? `DELETE FROM barrage_alert_keys WHERE (user_id, key) IN (SELECT user_id, key
      FROM barrage_alert_keys WHERE ts < $1 LIMIT $2) RETURNING user_id`
        : `WITH old AS (${tryLock('user_id, key', 'barrage_alert_keys', 'ts < $1')})
      DELETE FROM barrage_alert_keys WHERE ts < $1 AND (user_id, key) IN (SELECT user_id, key FROM old)
      RETURNING user_id`,
  };
}

/** The statements of a dialect, as `inboxSql` builds them. */
export type InboxSql = ReturnType<typeof inboxSql>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const isLive = (expiresAt: unknown, now: number) => {
  const at = numOrNull(expiresAt);
  return at === null || at > now;
};

/** Stores an alert: key, collapse, insert, cap (see `AlertInbox.putAlert`). */
export function* putAlertSteps(q: InboxSql, a: NewAlert, cap: number): Steps<PutAlertResult> {
  const result: PutAlertResult = {
    alert: a.alert,
    duplicate: false,
    replaced: [],
    dropped: [],
    droppedTotal: 0,
    droppedAt: null,
    size: 0,
  };
  if (a.key !== null) {
    const params = [a.userId, a.key, a.alert, a.ts, a.ts - ALERT_KEY_TTL_MS];
    const taken = yield { sql: q.claimKey, params };
    if (taken.length === 0) {
      const [owner] = yield { sql: q.keyOwner, params: [a.userId, a.key] };
      return { ...result, alert: String(owner?.alert), duplicate: true };
    }
  }
  if (a.collapseKey !== null) {
    const gone = yield { sql: q.collapse, params: [a.userId, a.collapseKey] };
    result.replaced = gone.map((r) => String(r.alert));
  }
  yield {
    sql: q.insert,
    params: [a.userId, a.alert, a.event, a.data, a.ts, a.expiresAt, a.collapseKey],
  };
  const [count] = yield { sql: q.size, params: [a.userId] };
  result.size = num(count?.n ?? 0);
  if (result.size > cap) {
    // Read alerts go first; unread ones only when there are not enough read ones.
    const over = result.size - cap;
    const trimmed = yield { sql: q.trimRead, params: [a.userId, over] };
    if (trimmed.length < over) {
      trimmed.push(...(yield { sql: q.trimOldest, params: [a.userId, over - trimmed.length] }));
    }
    result.size -= trimmed.length;
    // RETURNING lists rows in no promised order: oldest first.
    trimmed.sort((x, y) => num(x.seq) - num(y.seq));
    result.dropped = trimmed
      .filter((r) => r.read_at === null && isLive(r.expires_at, a.ts))
      .map((r) => String(r.alert));
    if (result.dropped.length > 0) {
      const [drops] = yield {
        sql: q.countDrops,
        params: [a.userId, result.dropped.length, a.ts],
      };
      result.droppedTotal = num(drops?.count);
      result.droppedAt = numOrNull(drops?.last_ts);
    }
  }
  return result;
}

/** A page of a user's inbox with its counts. */
export function* inboxSteps(q: InboxSql, query: InboxQuery): Steps<InboxPage> {
  const { userId, now, limit } = query;
  const rows = yield {
    sql: query.unreadOnly ? q.unreadPage : q.page,
    params: [userId, now, limit],
  };
  const [count] = yield { sql: q.unreadCount, params: [userId, now] };
  const [drops] = yield { sql: q.drops, params: [userId] };
  return {
    alerts: rows.map((r) => ({
      alert: String(r.alert),
      event: String(r.event),
      data: String(r.data),
      ts: num(r.ts),
      read: r.read_at !== null,
      expiresAt: numOrNull(r.expires_at),
    })),
    unread: num(count?.n),
    dropped: drops ? num(drops.count) : 0,
    droppedAt: drops ? numOrNull(drops.last_ts) : null,
  };
}

/** Marks alerts of a user read (null: all unread ones). */
export function* markReadSteps(
  q: InboxSql,
  userId: string,
  alerts: readonly string[] | null,
  now: number,
): Steps<MarkReadResult> {
  const list = alerts === null ? null : JSON.stringify(alerts);
  const changed =
    list === null
      ? yield { sql: q.markAll, params: [userId, now] }
      : yield { sql: q.markSome, params: [userId, now, list] };
  const read = changed
    .map((r) => ({ alert: String(r.alert), ts: num(r.ts), seq: num(r.seq) }))
    .sort((x, y) => x.seq - y.seq)
    .map(({ alert, ts }) => ({ alert, ts }));
  let unknown: string[] = [];
  if (alerts !== null && read.length < alerts.length) {
    const known = yield { sql: q.known, params: [userId, now, list] };
    const mine = new Set(known.map((r) => String(r.alert)));
    unknown = alerts.filter((id) => !mine.has(id));
  }
  return { read, unknown };
}

/** Deletes one alert of a user. */
export function* deleteAlertSteps(
  q: InboxSql,
  userId: string,
  alert: string,
  now: number,
): Steps<{ deleted: boolean; unread: boolean }> {
  const [row] = yield { sql: q.remove, params: [userId, alert] };
  if (!row) return { deleted: false, unread: false };
  return { deleted: true, unread: row.read_at === null && isLive(row.expires_at, now) };
}

/** Deletes up to `max` expired alerts. */
export function* expireAlertsSteps(q: InboxSql, now: number, max: number): Steps<ExpiredAlert[]> {
  const rows = yield { sql: q.expire, params: [now, max] };
  return rows.map((r) => ({
    userId: String(r.user_id),
    alert: String(r.alert),
    unread: r.read_at === null,
  }));
}

/** Forgets up to `max` idempotency keys taken before `before`; returns how many. */
export function* forgetKeysSteps(q: InboxSql, before: number, max: number): Steps<number> {
  return (yield { sql: q.forgetKeys, params: [before, max] }).length;
}
