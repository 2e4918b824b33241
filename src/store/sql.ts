import { PRIORITIES } from '../protocol/index.js';

/**
 * The queries both SQL backends run. SQLite and PostgreSQL share them: placeholders are written
 * as `$1`, `$2`… (both accept that form), and every row comes back with the same columns.
 */

/** The columns of a message row, in the order the readers map them. */
export const COLUMNS = `room, id, epoch, "offset", t, ts, sender, priority, data`;

/** Timeline rows of a range: $1 room, $2 from, $3 to, $4 after-t, $5 after-id, $6 limit. */
export const TIMELINE_SQL = `SELECT ${COLUMNS} FROM barrage_messages
 WHERE room = $1 AND t >= $2 AND t < $3 AND (t > $4 OR (t = $4 AND id > $5))
 ORDER BY t, id LIMIT $6`;

/** The columns a rendered segment comment needs (comment-json.ts). */
const COMMENT_COLUMNS = `t, id, ts, sender, priority, data`;

/** How the two SQL dialects spell a segment's per-second read. */
interface Dialect {
  /** The table under an alias, read through the density (PG, migration 2) or segment index (SQLite, 4). */
  table(alias: string): string;
  /** The density rule's order inside one second (density.ts), as the density index holds it. */
  order: string;
  /** The two-argument maximum. */
  greatest: string;
  /** A text column as a JSON string (`null` for NULL), escaped exactly as `JSON.stringify` does. */
  quote(column: string): string;
}

// Ids compare bytewise on both (`COLLATE "C"`, SQLite's BINARY), so both choose the same rows
// whatever the database's locale.
const POSTGRES: Dialect = {
  table: (alias) => `barrage_messages ${alias}`,
  order: 'priority DESC, rank, id COLLATE "C"',
  greatest: 'GREATEST',
  quote: (column) => `COALESCE(to_json(${column})::text, 'null')`,
};
// SQLite's planner, without statistics, prefers the (room, t) range of the timeline index (which
// would read the whole segment once per second): the segment index is named. It covers
// COMMENT_COLUMNS, so a rendered segment never reads the table.
const SQLITE: Dialect = {
  table: (alias) => `barrage_messages AS ${alias} INDEXED BY barrage_messages_segment`,
  order: 'priority DESC, rank, id',
  greatest: 'max',
  quote: (column) => `json_quote(${column})`,
};

/** One second of a segment, on alias `a`: $1 room, $2 from, $3 to. */
const inSecond = (a: string, sec: string) =>
  `${a}.room = $1 AND ${a}.t IS NOT NULL AND ${a}.t / 1000 = ${sec} AND ${a}.t >= $2 AND ${a}.t < $3`;

/**
 * The places of second `sec`: its first `max($4, kept)` comments in the rule's order, read as one
 * density-index range that stops after them. Kept comments (paid, system) sort first (priority
 * DESC), so those places are exactly "the cap's best, plus every kept one".
 */
const secondPlaces = (
  d: Dialect,
  sec: string,
  columns = COLUMNS,
) => `SELECT ${columns} FROM ${d.table('m')}
   WHERE ${inSecond('m', sec)}
   ORDER BY ${d.order}
   LIMIT ${d.greatest}($4, (SELECT count(*) FROM ${d.table('k')} WHERE ${inSecond('k', sec)} AND k.priority >= 2))`;

/**
 * A segment under the density rule, PostgreSQL: $1 room, $2 from, $3 to, $4 per second. A LATERAL
 * subquery per second of [from, to), so the work is bounded by the rows answered (about $4 a
 * second), not by the rows the segment holds.
 */
export const SEGMENT_SQL_POSTGRES = `SELECT p.* FROM generate_series($2::int4 / 1000, ($3::int4 - 1) / 1000) AS s(sec)
 CROSS JOIN LATERAL (${secondPlaces(POSTGRES, 's.sec')}) p
 ORDER BY p.t, p.id COLLATE "C"`;

/**
 * `commentJson` (comment-json.ts) in SQL, to the same bytes: `to_json` and `json_quote` escape
 * text as `JSON.stringify` does (`\"`, `\\`, `\b\f\n\r\t`, other controls as `\u00xx`, the rest
 * as is); the store contract suite holds the two renderings equal.
 */
const commentJsonSql = (d: Dialect) => `'{"id":' || ${d.quote('id')} || ',"t":' || t
  || ',"data":' || data || ',"from":' || ${d.quote('sender')} || ',"ts":' || ts
  || CASE WHEN priority <= 0 THEN ''
     ${PRIORITIES.slice(1)
       .map((name, i) => `WHEN priority = ${i + 1} THEN ',"priority":"${name}"'`)
       .join(' ')}
     ELSE ',"priority":"normal"' END || '}'`;

/**
 * A segment rendered, PostgreSQL: the comments of `SEGMENT_SQL_POSTGRES` as one text, each as
 * `commentJson` renders it, joined by commas in the segment's order. One value crosses the wire
 * instead of ~11 000 rows of 9 columns for the client to parse and render.
 */
export const SEGMENT_COMMENTS_SQL_POSTGRES = `SELECT COALESCE(string_agg(p.j, ',' ORDER BY p.t, p.id COLLATE "C"), '') AS comments
 FROM generate_series($2::int4 / 1000, ($3::int4 - 1) / 1000) AS s(sec)
 CROSS JOIN LATERAL (${secondPlaces(POSTGRES, 's.sec', `t, id, ${commentJsonSql(POSTGRES)} AS j`)}) p`;

/**
 * One second of a segment, SQLite: $1 room, $2 from, $3 to, $4 per second, $5 the second. SQLite
 * has no LATERAL: the worker runs this once per second of the segment (a prepared statement costs
 * microseconds) and sorts the union by (t, id), as PostgreSQL does.
 */
export const SEGMENT_SECOND_SQL_SQLITE = secondPlaces(SQLITE, '$5');

/**
 * One second of a segment rendered, SQLite: its comments as `commentJson` renders them, joined by
 * commas in (t, id) order, or NULL when it has none. Seconds are disjoint, so the seconds' texts in
 * order, joined by commas, are the segment in (t, id) order. Read from the segment index alone.
 */
export const SEGMENT_SECOND_COMMENTS_SQL_SQLITE = `SELECT group_concat(${commentJsonSql(SQLITE)}, ',' ORDER BY t, id)
 FROM (${secondPlaces(SQLITE, '$5', COMMENT_COLUMNS)})`;

/**
 * The newest messages before a position, newest first: $1 room, $2 epoch, $3 offset, $4 limit.
 * "Before" is commit order (`seq`): the messages committed before the first stored one at or after
 * the position in its epoch (all of them when there is none).
 */
export const BEFORE_SQL = `SELECT ${COLUMNS} FROM barrage_messages
 WHERE room = $1 AND seq < COALESCE(
   (SELECT MIN(seq) FROM barrage_messages WHERE room = $1 AND epoch = $2 AND "offset" >= $3),
   9007199254740991)
 ORDER BY seq DESC LIMIT $4`;

/** The newest messages of a room, newest first: $1 room, $2 limit. */
export const LATEST_SQL = `SELECT ${COLUMNS} FROM barrage_messages WHERE room = $1 ORDER BY seq DESC LIMIT $2`;

/** Deletes one message: $1 room, $2 id. */
export const REMOVE_SQL = `DELETE FROM barrage_messages WHERE room = $1 AND id = $2`;

/**
 * The version of what a segment renders to, kept with every stored copy (migration 7) and
 * required of a copy to be served. Bump it with any change of the rendering: `commentJsonSql`
 * (and `commentJson`, which it must equal), the density rule (`secondPlaces`, `PRIORITIES`), the
 * fields of a comment. Copies rendered before then are never served, and the next read replaces
 * them. test/store/segment-copies.test.ts pins it to a hash of the rendering's SQL, so a change
 * of that SQL fails there until this is bumped.
 */
export const SEGMENT_FORMAT = 1;

/**
 * Stored segment copies (migrations 6 and 7). A copy is keyed by the query
 * ($1 room, $2 from, $3 to, $4 per second) and valid while its fingerprint equals the sum of
 * the versions of the media-time minutes [from, to) touches: every change of a comment bumps its
 * minute's version in the change's own transaction, and versions only grow, so the sum moves
 * whenever anything in the segment's minutes changed. (The casts: SQLite may bind a number as a
 * REAL, whose division would not truncate.)
 */
const FINGERPRINT_SQL = `(SELECT COALESCE(SUM(v.version), 0) FROM barrage_segment_versions v
   WHERE v.room = $1 AND v.minute >= CAST($2 AS INTEGER) / 60000
     AND v.minute <= (CAST($3 AS INTEGER) - 1) / 60000)`;

/** The stored copy of a segment when it is current (no row otherwise): $1-$4 as above. */
export const SEGMENT_COPY_SQL = `SELECT s.comments FROM barrage_segments s
 WHERE s.room = $1 AND s.from_ms = $2 AND s.to_ms = $3 AND s.per_second = $4
   AND s.format = ${SEGMENT_FORMAT} AND s.fingerprint = ${FINGERPRINT_SQL}`;

/**
 * The upsert's conflict arm: a copy replaces one of an older format, or of the same format
 * rendered at a lower fingerprint. So a slow read finishing late never brings back an older
 * copy, and a node still running an older Barrage never replaces a newer format's copy.
 */
const KEEP_CONFLICT = `ON CONFLICT (room, from_ms, to_ms, per_second) DO UPDATE
 SET format = excluded.format, fingerprint = excluded.fingerprint, comments = excluded.comments
 WHERE (s.format, s.fingerprint) < (excluded.format, excluded.fingerprint)`;

/** The fingerprint of a segment's minutes now: $1 room, $2 from, $3 to. */
export const SEGMENT_FINGERPRINT_SQL = `SELECT ${FINGERPRINT_SQL} AS fingerprint`;

/**
 * Keeps a copy: $1-$4 the query, $5 the fingerprint it was rendered at, $6 the comments (never
 * empty: an empty segment is not kept, see `segmentComments`).
 */
export const SEGMENT_KEEP_SQL = `INSERT INTO barrage_segments AS s (room, from_ms, to_ms, per_second, format, fingerprint, comments)
 VALUES ($1, $2, $3, $4, ${SEGMENT_FORMAT}, $5, $6)
 ${KEEP_CONFLICT}`;

/**
 * A segment rendered (as `SEGMENT_COMMENTS_SQL_POSTGRES`) together with the fingerprint of the
 * same snapshot (one statement, so the two agree), and kept as the segment's copy in the same
 * statement: the 1.5 MB text never travels back to the server. An empty rendering is not kept:
 * any room name a viewer may ask for would otherwise leave a row (and its read is an index miss
 * anyway). $1-$4 as above.
 */
export const SEGMENT_RENDER_KEEP_SQL_POSTGRES = `WITH r AS (
   SELECT (${SEGMENT_COMMENTS_SQL_POSTGRES}) AS comments, ${FINGERPRINT_SQL} AS fingerprint
 ), kept AS (
   INSERT INTO barrage_segments AS s (room, from_ms, to_ms, per_second, format, fingerprint, comments)
   SELECT $1, $2, $3, $4, ${SEGMENT_FORMAT}, r.fingerprint, r.comments FROM r WHERE r.comments <> ''
   ${KEEP_CONFLICT}
 )
 SELECT comments FROM r`;
