/**
 * Viewer-segment reads on the database thread (worker.ts). SQLite has no LATERAL: each second of
 * the segment is one prepared statement over the segment index (sql.ts, migration 4).
 */
import type Database from 'better-sqlite3';
import { fromRow, type MessageRow } from '../rows.js';
import {
  SEGMENT_COPY_SQL,
  SEGMENT_FINGERPRINT_SQL,
  SEGMENT_KEEP_SQL,
  SEGMENT_SECOND_COMMENTS_SQL_SQLITE,
  SEGMENT_SECOND_SQL_SQLITE,
} from '../sql.js';
import type { SegmentQuery } from '../types.js';

/** Ids are ASCII (`EPOCH.OFFSET`), so code-unit order is PostgreSQL's COLLATE "C" order. */
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The `segment`, `segmentComments` and `segmentCommentsFromRows` handlers of the worker. */
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
  // Rendered in SQL, one text a second: no object per row, and one string crosses to the main
  // thread (a copy of ~1.5 MB) instead of ~11 000 objects.
  const render = (q: SegmentQuery) => {
    const seconds: string[] = [];
    eachSecond(q, (bound) => {
      const text = commentsSecond.get(bound) as string | null;
      if (text !== null) seconds.push(text);
    });
    return seconds.join(',');
  };
  const copyOf = db.prepare(SEGMENT_COPY_SQL).pluck();
  const fingerprintOf = db.prepare(SEGMENT_FINGERPRINT_SQL).pluck();
  const keep = db.prepare(SEGMENT_KEEP_SQL);
  /**
   * Keeps a copy without waiting for the disk: it is derived data (lost in a crash, it is rendered
   * again), so its commit need not be durable; WAL keeps the file consistent either way.
   */
  const keepCopy = (bound: Record<number, unknown>) => {
    db.pragma('synchronous = NORMAL');
    try {
      keep.run(bound);
    } finally {
      db.pragma('synchronous = FULL');
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
    segmentComments: (args: unknown) => {
      const q = args as SegmentQuery;
      const key = { 1: q.room, 2: q.from, 3: q.to, 4: q.perSecond };
      // Kept as a BLOB of the text's bytes: read back as bytes, it crosses to the main thread as
      // one buffer and goes into the body without a decode and a re-encode.
      const copy = copyOf.get(key) as Buffer | string | undefined;
      if (copy !== undefined) return typeof copy === 'string' ? Buffer.from(copy) : copy;
      // Nothing writes between these statements: this thread is the database's only writer.
      const comments = Buffer.from(render(q));
      // An empty segment is not kept: every room name a viewer may ask for would otherwise leave
      // a row, and its read is an index miss anyway.
      if (comments.length === 0) return comments;
      try {
        const fingerprint = fingerprintOf.get({ 1: q.room, 2: q.from, 3: q.to }) as number;
        keepCopy({ ...key, 5: fingerprint, 6: comments });
      } catch {
        // Keeping is an optimisation: a copy that cannot be written (a full disk) must not
        // fail the read it was rendered for. The next read renders again.
      }
      return comments;
    },
    segmentCommentsFromRows: (args: unknown) => Buffer.from(render(args as SegmentQuery)),
  };
}
