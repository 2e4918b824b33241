/**
 * Viewer-segment reads on the database thread (worker.ts). SQLite has no LATERAL: each second of
 * the segment is one prepared statement over the segment index (sql.ts, migration 4).
 */
import type Database from 'better-sqlite3';
import { fromRow, type MessageRow } from '../rows.js';
import { SEGMENT_SECOND_COMMENTS_SQL_SQLITE, SEGMENT_SECOND_SQL_SQLITE } from '../sql.js';
import type { SegmentQuery } from '../types.js';

/** Ids are ASCII (`EPOCH.OFFSET`), so code-unit order is PostgreSQL's COLLATE "C" order. */
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The `segment` and `segmentComments` handlers of the worker. */
export function segmentHandlers(db: Database.Database) {
  const rowsSecond = db.prepare(SEGMENT_SECOND_SQL_SQLITE);
  const commentsSecond = db.prepare(SEGMENT_SECOND_COMMENTS_SQL_SQLITE).pluck();
  /** Calls `each` with the bound parameters of every second of [from, to), in order. */
  const eachSecond = (q: SegmentQuery, each: (bound: Record<number, unknown>) => void) => {
    const last = Math.floor((q.to - 1) / 1000);
    for (let sec = Math.floor(q.from / 1000); sec <= last; sec++) {
      each({ 1: q.room, 2: q.from, 3: q.to, 4: q.perSecond, 5: sec });
    }
  };
  return {
    segment: (args: unknown) => {
      const found: MessageRow[] = [];
      eachSecond(args as SegmentQuery, (bound) => {
        for (const row of rowsSecond.iterate(bound)) found.push(row as MessageRow);
      });
      found.sort((a, b) => Number(a.t) - Number(b.t) || byId(a.id, b.id));
      return found.map(fromRow);
    },
    // Rendered in SQL, one text a second: no object per row, and one string crosses to the main
    // thread (a copy of ~1.5 MB) instead of ~11 000 objects.
    segmentComments: (args: unknown) => {
      const seconds: string[] = [];
      eachSecond(args as SegmentQuery, (bound) => {
        const text = commentsSecond.get(bound) as string | null;
        if (text !== null) seconds.push(text);
      });
      return seconds.join(',');
    },
  };
}
