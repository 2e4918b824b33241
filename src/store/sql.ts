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

/** One second's places under the density rule, and its kept comments beyond them. */
const PER_SECOND = (sec: string) => `seq IN (
     SELECT seq FROM barrage_messages
     WHERE room = $1 AND t IS NOT NULL AND t / 1000 = ${sec} AND t >= $2 AND t < $3
     ORDER BY priority DESC, rank, id LIMIT $4)
   OR seq IN (
     SELECT seq FROM barrage_messages
     WHERE room = $1 AND t IS NOT NULL AND t / 1000 = ${sec} AND t >= $2 AND t < $3 AND priority >= 2)`;

/**
 * A segment under the density rule (density.ts): $1 room, $2 from, $3 to, $4 per second. Each
 * second of the segment is read from the density index (room, t / 1000, priority DESC, rank, id):
 * its first $4 places, plus its kept (paid, system) comments beyond them. At most ~$4 rows a
 * second are touched, however many the second holds. SQLite takes the seconds from a recursive
 * CTE, PostgreSQL from generate_series; both answer the same rows.
 */
export const SEGMENT_SQL_SQLITE = `WITH RECURSIVE secs(sec) AS (
   SELECT $2 / 1000 UNION ALL SELECT sec + 1 FROM secs WHERE sec < ($3 - 1) / 1000)
 SELECT ${COLUMNS} FROM barrage_messages WHERE seq IN (
   SELECT m.seq FROM secs JOIN barrage_messages m ON m.${PER_SECOND('secs.sec')})
 ORDER BY t, id`;

/** The same segment for PostgreSQL (see SEGMENT_SQL_SQLITE). */
export const SEGMENT_SQL_POSTGRES = `SELECT ${COLUMNS} FROM barrage_messages WHERE seq IN (
   SELECT m.seq FROM generate_series($2::bigint / 1000, ($3::bigint - 1) / 1000) AS s(sec)
   JOIN barrage_messages m ON m.${PER_SECOND('s.sec')})
 ORDER BY t, id`;

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
