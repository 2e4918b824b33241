/**
 * What travels on the broker's pub/sub channels. Encoded lines are carried as opaque bytes after
 * a short ASCII header; a receiving node reads the header and slices the line out without copying
 * or parsing it.
 *
 * - room channel: `OFFSET:EPOCH:LINE` (written by publish.lua; epochs never contain `:`)
 * - user and broadcast channels: `HEADER_JSON\nLINE` where the header is
 *   `{"r":requestId,"n":replyNodeId,"e":event,"u":userId?}` (small, and pushes are rare)
 * - reply channel: `REQUEST_ID:COUNT`
 */

/** What a subscribed channel is about. */
export type ChannelRef =
  | { kind: 'room'; room: string }
  | { kind: 'user'; userId: string }
  | { kind: 'all' }
  | { kind: 'reply' }
  | { kind: 'moderation' };

const COLON = 0x3a;
const NEWLINE = 0x0a;

/** A room message as received from its channel. */
export interface RoomFrame {
  offset: number;
  epoch: string;
  /** The encoded line, a view into the received buffer. */
  line: Buffer;
}

/** Reads a room frame, or returns null when it is malformed. */
export function decodeRoomFrame(payload: Buffer): RoomFrame | null {
  let offset = 0;
  let i = 0;
  for (; i < payload.length && i < 20; i++) {
    const c = payload[i]!;
    if (c === COLON) break;
    if (c < 0x30 || c > 0x39) return null;
    offset = offset * 10 + (c - 0x30);
  }
  if (i === 0 || payload[i] !== COLON) return null;
  const epochEnd = payload.indexOf(COLON, i + 1);
  if (epochEnd < 0) return null;
  return {
    offset,
    epoch: payload.toString('latin1', i + 1, epochEnd),
    line: payload.subarray(epochEnd + 1),
  };
}

/** The header of a push as it crosses Redis. */
export interface PushHeader {
  /** Request id, unique per requesting node. */
  r: string;
  /** The requesting node, which collects the delivered counts. */
  n: string;
  /** The push's event name. */
  e: string;
  /** The user, for a user push; absent for a broadcast. */
  u?: string;
}

/** Builds a push frame: header, newline, line. */
export function encodePush(header: PushHeader, line: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), line]);
}

/** Reads a push frame, or returns null when it is malformed. */
export function decodePush(payload: Buffer): { header: PushHeader; line: Buffer } | null {
  const end = payload.indexOf(NEWLINE);
  if (end < 0) return null;
  try {
    const header = JSON.parse(payload.toString('utf8', 0, end)) as PushHeader;
    if (typeof header.r !== 'string' || typeof header.n !== 'string') return null;
    if (typeof header.e !== 'string') return null;
    return { header, line: payload.subarray(end + 1) };
  } catch {
    return null;
  }
}

/** Builds a reply to a push request. */
export function encodeReply(requestId: string, delivered: number): string {
  return `${requestId}:${delivered}`;
}

/** Reads a reply, or returns null when it is malformed. */
export function decodeReply(payload: Buffer): { requestId: string; delivered: number } | null {
  const text = payload.toString('latin1');
  const at = text.lastIndexOf(':');
  const delivered = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(delivered) || delivered < 0) return null;
  return { requestId: text.slice(0, at), delivered };
}
