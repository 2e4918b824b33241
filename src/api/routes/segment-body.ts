import { createHash } from 'node:crypto';
import type { Store } from '../../store/types.js';

/** Which viewer segment to build. */
export interface SegmentRequest {
  room: string;
  segment: number;
  /** Length of a segment, ms. */
  segmentMs: number;
  /** Most comments per second of media time (paid and system kept beside). */
  density: number;
}

/**
 * A viewer segment's response body and ETag, read from the store: everything a cold
 * `GET /timeline/:room/:segment` does but HTTP (the bench's reads time exactly this). The store
 * answers from the segment's stored copy while it is current; `fromRows` renders from the rows
 * instead, as a read of a changed segment does (the bench's other column).
 */
export async function readSegment(
  store: Store,
  r: SegmentRequest,
  fromRows = false,
): Promise<{ body: Uint8Array<ArrayBuffer>; etag: string }> {
  const from = r.segment * r.segmentMs;
  const to = from + r.segmentMs;
  const query = { room: r.room, from, to, perSecond: r.density };
  const comments = await (fromRows
    ? store.segmentCommentsFromRows(query)
    : store.segmentComments(query));
  // The store's bytes go in as they are (a 1.5 MB segment is never decoded to a string).
  const head = `{"room":${JSON.stringify(r.room)},"segment":${r.segment},"from":${from},"to":${to},"comments":[`;
  const body = Buffer.concat([Buffer.from(head), comments, CLOSE]);
  return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

const CLOSE = Buffer.from(']}');
