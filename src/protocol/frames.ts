/** A request id chosen by the client; the reply carries it back unchanged. */
export type RequestId = number | string;

/** A position in a room's stream: the offset of the last message seen, in the named epoch. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** `auth`: authenticate this connection. */
export interface AuthCommand {
  type: 'auth';
  id?: RequestId;
  token: string;
  /** Only pushes of these events reach this connection; absent means all. */
  events?: string[];
}

/** `join`: become a member of a room, optionally recovering from `since` or fetching history. */
export interface JoinCommand {
  type: 'join';
  id?: RequestId;
  room: string;
  since?: StreamPosition;
  history?: number;
  /**
   * In a stored room: the history is the `history` messages stored before this offset (of the
   * room's current epoch, or `beforeEpoch`), for "load earlier" (docs/timeline.md).
   */
  before?: number;
  /** The epoch `before` belongs to (default: the room's current one). */
  beforeEpoch?: string;
  /** Messages a second this client can show; the server samples fairly above it. */
  budget?: number;
}

/**
 * Message classes, lowest first. Under pressure lower classes are sampled or skipped first;
 * `paid` and `system` are never dropped by a lossy policy.
 */
export const PRIORITIES = ['normal', 'highlight', 'paid', 'system'] as const;

/** A message class. */
export type Priority = (typeof PRIORITIES)[number];

/** The class index of a priority name (normal 0 … system 3). */
export function priorityLevel(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

/** The lowest class that is never dropped by a lossy policy or sampled out. */
export const PROTECTED_LEVEL = 2;

/** `leave`: stop being a member of a room. */
export interface LeaveCommand {
  type: 'leave';
  id?: RequestId;
  room: string;
}

/** `publish`: post a message to a room. */
export interface PublishCommand {
  type: 'publish';
  id?: RequestId;
  room: string;
  /** The parsed payload. */
  data: unknown;
  /** The message class; above `normal` it needs the token's `priority` claim. */
  priority?: Priority;
  /** Media time in integer ms (0 to 48 h): required in timeline rooms, refused elsewhere. */
  t?: number;
}

/** Longest media time a timeline comment may carry, ms (48 hours). */
export const MAX_MEDIA_TIME_MS = 48 * 3_600_000;

/** `ping`: the client checks the server is alive; answered with `pong`. */
export interface PingCommand {
  type: 'ping';
  id?: RequestId;
}

/** `pong`: the client's answer to a server `ping`. */
export interface PongCommand {
  type: 'pong';
  id?: RequestId;
}

/** Most alert ids in one `ack`. */
export const MAX_ACK_ALERTS = 100;

/** Most alerts one inbox answer (WebSocket or HTTP) lists. */
export const MAX_INBOX_LIMIT = 1000;

/** Alerts an inbox answer lists when no `limit` is given. */
export const DEFAULT_INBOX_LIMIT = 100;

/** `ack`: the connection's user has seen these alerts (docs/alerts.md). */
export interface AckCommand {
  type: 'ack';
  id?: RequestId;
  /** 1 to MAX_ACK_ALERTS alert ids, each at most once. */
  alerts: string[];
}

/** `inbox`: list the connection's own user's stored alerts, oldest first. */
export interface InboxCommand {
  type: 'inbox';
  id?: RequestId;
  /** Only unread alerts. */
  unread: boolean;
  /** Most alerts listed, 1 to MAX_INBOX_LIMIT. */
  limit: number;
}

/** Why an unread alert left the inbox without being read (the `withdrawn` line). */
export type WithdrawReason = 'collapsed' | 'expired' | 'deleted' | 'dropped' | 'not_stored';

/** Every command a client may send, discriminated by `type`. */
export type ClientCommand =
  | AuthCommand
  | JoinCommand
  | LeaveCommand
  | PublishCommand
  | PingCommand
  | PongCommand
  | AckCommand
  | InboxCommand;
