/**
 * Server-Sent Events encoding of the protocol's lines. Each newline-delimited JSON line of a frame
 * becomes one event whose `event` is the line's type and whose `data` is the line itself, so an
 * SSE client reads exactly what a WebSocket client reads. A frame shared by many members (one
 * fan-out batch) is encoded once: the result is cached against the frame's Buffer.
 */

/** One frame as SSE: the events' bytes, and the room positions its `message` lines reach. */
export interface SseFrame {
  /** `event: TYPE\ndata: LINE\n\n` for every line, in order. */
  readonly body: Buffer;
  /** Highest offset per room among the frame's `message` lines. */
  readonly offsets: ReadonlyMap<string, number>;
  /** `joined` replies of the frame (room, epoch, current offset), for the stream's position. */
  readonly joined: readonly JoinedPosition[];
  /** `error` replies of the frame to the stream's own joins (ids `sse-N`). */
  readonly refusals: readonly JoinRefusal[];
}

/** A stream's join answered with an error. */
export interface JoinRefusal {
  code: string;
  /** Set when the refusal passes with time (rate_limited). */
  retryAfterMs: number | null;
}

/** Where a `joined` reply leaves a room. */
export interface JoinedPosition {
  room: string;
  epoch: string;
  offset: number;
}

const encoded = new WeakMap<Buffer, SseFrame>();

/** The SSE form of a frame, built once per frame Buffer. */
export function sseFrame(frame: Buffer): SseFrame {
  let cached = encoded.get(frame);
  if (cached === undefined) {
    cached = encodeFrame(frame);
    encoded.set(frame, cached);
  }
  return cached;
}

const TYPE_PREFIX = Buffer.from('{"type":"');
const ROOM_KEY = Buffer.from('"room":');
const OFFSET_KEY = Buffer.from(',"offset":');
const EVENT = Buffer.from('event: ');
const DATA = Buffer.from('\ndata: ');
const END = Buffer.from('\n\n');

function encodeFrame(frame: Buffer): SseFrame {
  const parts: Buffer[] = [];
  const offsets = new Map<string, number>();
  const joined: JoinedPosition[] = [];
  const refusals: JoinRefusal[] = [];
  let start = 0;
  while (start < frame.length) {
    let end = frame.indexOf(0x0a, start);
    if (end === -1) end = frame.length;
    if (end > start) {
      const line = frame.subarray(start, end);
      const type = lineType(line);
      parts.push(EVENT, Buffer.from(type), DATA, line, END);
      if (type === 'message') noteMessage(line, offsets);
      else if (type === 'joined') noteJoined(line, joined);
      else if (type === 'error') noteRefusal(line, refusals);
    }
    start = end + 1;
  }
  return { body: Buffer.concat(parts), offsets, joined, refusals };
}

/** The `type` of an encoded line (every server line starts with `{"type":"`). */
export function lineType(line: Buffer): string {
  if (line.subarray(0, TYPE_PREFIX.length).equals(TYPE_PREFIX)) {
    const close = line.indexOf(0x22, TYPE_PREFIX.length);
    if (close > TYPE_PREFIX.length) return line.toString('latin1', TYPE_PREFIX.length, close);
  }
  return 'message';
}

/** Reads `room` and `offset` of a `message` line at their fixed places (see messageParts). */
function noteMessage(line: Buffer, offsets: Map<string, number>): void {
  const roomAt = line.indexOf(ROOM_KEY);
  const offsetAt = line.indexOf(OFFSET_KEY, roomAt);
  if (roomAt === -1 || offsetAt === -1) return;
  let room: unknown;
  try {
    room = JSON.parse(line.toString('utf8', roomAt + ROOM_KEY.length, offsetAt));
  } catch {
    return;
  }
  let i = offsetAt + OFFSET_KEY.length;
  let offset = 0;
  for (; i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39; i++) {
    offset = offset * 10 + (line[i]! - 0x30);
  }
  if (typeof room !== 'string') return;
  if (offset > (offsets.get(room) ?? 0)) offsets.set(room, offset);
}

function noteJoined(line: Buffer, joined: JoinedPosition[]): void {
  // A join reply is rare (once per room per stream): parsing it whole is fine.
  const reply = JSON.parse(line.toString('utf8')) as Partial<JoinedPosition>;
  if (typeof reply.room === 'string' && typeof reply.epoch === 'string') {
    joined.push({ room: reply.room, epoch: reply.epoch, offset: Number(reply.offset) || 0 });
  }
}

function noteRefusal(line: Buffer, refusals: JoinRefusal[]): void {
  // Errors are rare too; only replies to the stream's own joins (ids `sse-N`) count.
  const reply = JSON.parse(line.toString('utf8')) as {
    id?: unknown;
    code?: unknown;
    retryAfterMs?: unknown;
  };
  if (typeof reply.id !== 'string' || !reply.id.startsWith('sse-')) return;
  const retry = typeof reply.retryAfterMs === 'number' ? reply.retryAfterMs : null;
  refusals.push({ code: String(reply.code), retryAfterMs: retry });
}

/**
 * The heartbeat comment: keeps proxies and the browser's connection timer from giving up. With
 * `padBytes` it carries that many spaces, enough to push a proxy that holds events until its
 * buffer fills (docs/sse.md#proxies-that-buffer). Built once per server and shared by all streams.
 */
export function sseHeartbeat(padBytes: number): Buffer {
  return Buffer.from(`: heartbeat${' '.repeat(padBytes)}\n\n`);
}

/** The comment a stream opens with when padding is on (see sseHeartbeat); empty without it. */
export function ssePadding(padBytes: number): string {
  return padBytes > 0 ? `:${' '.repeat(padBytes)}\n\n` : '';
}
