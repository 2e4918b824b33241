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

/**
 * A segment under the density rule (density.ts): $1 room, $2 from, $3 to, $4 per second. The
 * window ranks each second's comments; kept ones (paid, system) pass whatever their rank.
 */
export const SEGMENT_SQL = `SELECT ${COLUMNS} FROM (
   SELECT ${COLUMNS}, ROW_NUMBER() OVER (PARTITION BY t / 1000 ORDER BY priority DESC, rank, id) AS place
   FROM barrage_messages WHERE room = $1 AND t >= $2 AND t < $3
 ) ranked WHERE place <= $4 OR priority >= 2
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
