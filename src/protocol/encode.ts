/**
 * Encoders for server messages. Hot-path messages (`message`, `push`, `presence`) are built by
 * string concatenation around payloads that are already JSON text, so a payload is stringified
 * once when it is accepted and never again. Callers treat returned buffers as immutable: one
 * buffer goes to many connections.
 */
import type { ErrorCode } from './codes.js';
import type { Priority, RequestId, WithdrawReason } from './frames.js';

/** The newline that separates the lines of a merged frame. */
export const NEWLINE = Buffer.from('\n');

/**
 * A room message before its offset is known: `head + offset + tail` is the encoded line.
 * Brokers assign the offset (the Redis broker does so inside its atomic Lua step).
 */
export interface MessageParts {
  head: string;
  tail: string;
}

/**
 * Builds the parts of a `message` line: type, priority (only above normal), room, then offset,
 * the media time `t` (timeline rooms only), data (JSON text), ts and from. The layout is fixed so that the fan-out can read a line's class
 * and sender without parsing it (linePriority, lineSender).
 */
export function messageParts(
  room: string,
  dataJson: string,
  ts: number,
  from: string | null,
  priority: Priority = 'normal',
  t?: number,
): MessageParts {
  const cls = priority === 'normal' ? '' : `"priority":"${priority}",`;
  const media = t === undefined ? '' : `,"t":${t}`;
  return {
    head: `{"type":"message",${cls}"room":${JSON.stringify(room)},"offset":`,
    tail: `${media},"data":${dataJson},"ts":${ts},"from":${from === null ? 'null' : JSON.stringify(from)}}`,
  };
}

// `{"type":"message",` is 18 bytes; a class follows as `"priority":"` (12 bytes) at byte 18.
const CLASS_AT = 30;
const LEVEL_BY_INITIAL: Record<number, number> = { 104: 1, 112: 2, 115: 3 }; // h, p, s

/** The class level of an encoded `message` line (0 normal … 3 system), read at a fixed byte. */
export function linePriority(line: Buffer): number {
  if (line[19] !== 0x70) return 0; // `"room"` rather than `"priority"` follows the type
  return LEVEL_BY_INITIAL[line[CLASS_AT]!] ?? 0;
}

const FROM_KEY = Buffer.from('"from":');

/**
 * The sender of an encoded `message` line as its JSON text (`"alice"` or `null`), found from the
 * end: `from` is the last field, after the data, and a JSON string cannot contain `"from":` bare.
 */
export function lineSender(line: Buffer): string {
  const at = line.lastIndexOf(FROM_KEY);
  return at === -1 ? 'null' : line.toString('latin1', at + FROM_KEY.length, line.length - 1);
}

const SHADOW_MARK = Buffer.from('{"shadow":true,');
const OPEN = Buffer.from('{');

/**
 * Marks a message as a shadow-banned user's comment. It takes an offset in the room's stream and
 * its place in history like any other, so its author sees no gap, but a node hands it only to the
 * author's connections (as `unshadowLine`) and to nobody else. The mark leads the line, so
 * `isShadowLine` reads it at a fixed place.
 */
export function shadowParts(parts: MessageParts): MessageParts {
  return { head: SHADOW_MARK.toString() + parts.head.slice(1), tail: parts.tail };
}

/** Whether an encoded room line is a shadow-banned comment (see `shadowParts`). */
export function isShadowLine(line: Buffer): boolean {
  return (
    line.length > SHADOW_MARK.length &&
    line.compare(SHADOW_MARK, 0, SHADOW_MARK.length, 0, SHADOW_MARK.length) === 0
  );
}

/** The `message` line a shadow-banned comment's author receives: the line without its mark. */
export function unshadowLine(line: Buffer): Buffer {
  return Buffer.concat([OPEN, line.subarray(SHADOW_MARK.length)]);
}

/** Encodes a `skipped` line: how many of a room's messages were sampled out for this client. */
export function skippedLine(room: string, count: number): Buffer {
  return Buffer.from(`{"type":"skipped","room":${JSON.stringify(room)},"count":${count}}`);
}

/** Joins message parts with the assigned offset into the encoded line. */
export function messageLine(parts: MessageParts, offset: number): Buffer {
  return Buffer.from(parts.head + offset + parts.tail);
}

/** Encodes a `push` line (user push or broadcast). */
export function pushLine(event: string, dataJson: string, ts: number): Buffer {
  return Buffer.from(
    `{"type":"push","event":${JSON.stringify(event)},"data":${dataJson},"ts":${ts}}`,
  );
}

/** What a stored push (an alert) adds to its `push` line. */
export interface AlertFields {
  /** The alert's id. */
  alert: string;
  /** When it expires, ms since the epoch; null when it has no ttl. */
  expiresAt: number | null;
}

/** Encodes the `push` line of an alert: a push line plus `alert` and `expiresAt` (when set). */
export function alertPushLine(
  event: string,
  dataJson: string,
  ts: number,
  fields: AlertFields,
): Buffer {
  const expires = fields.expiresAt === null ? '' : `,"expiresAt":${fields.expiresAt}`;
  return Buffer.from(
    `{"type":"push","event":${JSON.stringify(event)},"data":${dataJson},"ts":${ts},"alert":${JSON.stringify(fields.alert)}${expires}}`,
  );
}

/** Encodes a `read` line: these alerts of the user were acknowledged or marked read. */
export function readLine(alerts: readonly string[]): Buffer {
  return Buffer.from(`{"type":"read","alerts":${JSON.stringify(alerts)}}`);
}

/**
 * Encodes a `withdrawn` line: unread alerts left the inbox without being read; `replacedBy`
 * names the new alert of a collapse.
 */
export function withdrawnLine(
  alerts: readonly string[],
  reason: WithdrawReason,
  replacedBy?: string,
): Buffer {
  const by = replacedBy === undefined ? '' : `,"replacedBy":${JSON.stringify(replacedBy)}`;
  return Buffer.from(
    `{"type":"withdrawn","alerts":${JSON.stringify(alerts)},"reason":"${reason}"${by}}`,
  );
}

/**
 * Encodes a `dropped` line: the inbox cap has removed `count` unread alerts of this user so far,
 * the latest at `ts`; a client that has not handled this `ts` should resync.
 */
export function droppedLine(count: number, ts: number): Buffer {
  return Buffer.from(`{"type":"dropped","count":${count},"ts":${ts}}`);
}

/** Encodes a `presence` line. */
export function presenceLine(room: string, online: number): Buffer {
  return Buffer.from(`{"type":"presence","room":${JSON.stringify(room)},"online":${online}}`);
}

/** The server's heartbeat `ping`, shared by every connection. */
export const PING_LINE = Buffer.from('{"type":"ping"}');

/**
 * Encodes the `welcome` sent on connect. `maxFrameBytes`, when given, tells the client the
 * largest frame the server reads, so that it can refuse an oversized publish itself.
 */
export function welcomeLine(
  connId: string,
  heartbeatMs: number,
  userId: string | null,
  maxFrameBytes?: number,
): Buffer {
  const user = userId === null ? '' : `,"userId":${JSON.stringify(userId)}`;
  const limit = maxFrameBytes === undefined ? '' : `,"maxFrameBytes":${maxFrameBytes}`;
  return Buffer.from(
    `{"type":"welcome","connId":${JSON.stringify(connId)},"heartbeat":${heartbeatMs}${user}${limit}}`,
  );
}

/** Encodes a reply to a request: `type` plus fields, with the request's `id` when it had one. */
export function replyLine(
  type: string,
  id: RequestId | undefined,
  fields: Record<string, unknown> = {},
): Buffer {
  const body = id === undefined ? { type, ...fields } : { type, id, ...fields };
  return Buffer.from(JSON.stringify(body));
}

/**
 * The `ok` reply to a publish: the same bytes as `replyLine('ok', id, { offset })`, written out
 * without building and spreading an object (one per client publish; issue 15).
 */
export function publishedLine(id: RequestId | undefined, offset: number): Buffer {
  const idField = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return Buffer.from(`{"type":"ok",${idField}"offset":${offset}}`);
}

/** Encodes an `error` reply; `retryAfterMs` (ms until the refusal ends) only when given. */
export function errorLine(
  id: RequestId | undefined,
  code: ErrorCode,
  message: string,
  retryAfterMs?: number,
): Buffer {
  const fields = retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs };
  return replyLine('error', id, fields);
}

/** Why the server took a connection out of a room it had joined. */
export type LeftReason =
  /** A ban of the user (moderation). */
  | 'banned'
  /** After a re-authentication, the new token's claims or the `authorizeJoin` hook refuse the room. */
  | 'not_allowed';

/**
 * Encodes a `left` line: the server removed this connection from `room` (no request asked for
 * it). The client's subscription is over; a new `join` asks the server again.
 */
export function leftLine(room: string, reason: LeftReason): Buffer {
  return Buffer.from(`{"type":"left","room":${JSON.stringify(room)},"reason":"${reason}"}`);
}

/** What a `joined` reply says about the room and its recovery. */
export interface JoinedFields {
  room: string;
  online: number;
  offset: number;
  epoch: string;
  recovered: boolean;
  /** Encoded `message` lines, oldest first, inserted as they are (no re-encoding). */
  messages: readonly Buffer[];
}

/** Encodes a `joined` reply; the history lines are spliced in as they were encoded. */
export function joinedLine(id: RequestId | undefined, f: JoinedFields): Buffer {
  const head = JSON.stringify({
    type: 'joined',
    ...(id === undefined ? {} : { id }),
    room: f.room,
    online: f.online,
    offset: f.offset,
    epoch: f.epoch,
    recovered: f.recovered,
  });
  const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"messages":[`)];
  f.messages.forEach((line, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(line);
  });
  parts.push(CLOSE_ARRAY_OBJECT);
  return Buffer.concat(parts);
}

const COMMA = Buffer.from(',');
const CLOSE_ARRAY_OBJECT = Buffer.from(']}');

/** Merges encoded lines into one newline-delimited frame; a single line is returned as is. */
export function mergeLines(lines: readonly Buffer[]): Buffer {
  if (lines.length === 1) return lines[0]!;
  const parts: Buffer[] = new Array(lines.length * 2 - 1);
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) parts[i * 2 - 1] = NEWLINE;
    parts[i * 2] = lines[i]!;
  }
  return Buffer.concat(parts);
}
