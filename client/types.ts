/**
 * Types of the wire contract (PROTOCOL.md v1) as the SDK sees them. The SDK is standalone: it
 * declares its own copy of the contract instead of importing the server's `src/protocol`.
 */

/** Reply error codes the server sends in `error` frames. */
export type ServerErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable';

/**
 * Codes the SDK raises itself: `disconnected` (the connection dropped before the reply came),
 * `timeout` (no reply in time), `closed` (the client was closed by the app or for good).
 */
export type ClientErrorCode = 'disconnected' | 'timeout' | 'closed';

/** Any code a {@link BarrageError} can carry. */
export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** A request id: the reply carries it back. */
export type RequestId = number | string;

/**
 * A message class, lowest first. Under pressure the server samples or skips lower classes
 * first; `paid` and `system` are never dropped. Publishing above `normal` needs permission.
 */
export type Priority = 'normal' | 'highlight' | 'paid' | 'system';

/** A room message, delivered in offset order without duplicates. */
export interface RoomMessage<T = unknown> {
  /** The room it was published to. */
  room: string;
  /** Per-room, strictly increasing position in the room's stream. */
  offset: number;
  /** The payload (any JSON). */
  data: T;
  /** When the server accepted it, ms since the epoch. */
  ts: number;
  /** The publisher's user id, or null when anonymous or published through the HTTP API. */
  from: string | null;
  /** The message class when above `normal` (absent means `normal`). */
  priority?: Priority;
  /** Media time in ms, in timeline rooms (`vod:*`). */
  t?: number;
}

/** A targeted push (to every connection of one user) or a broadcast. */
export interface PushEvent<T = unknown> {
  /** The event name. */
  event: string;
  /** The payload (any JSON). */
  data: T;
  /** When the server accepted it, ms since the epoch. */
  ts: number;
}

/**
 * A stored push (an alert, docs/alerts.md): it waits in the user's inbox until a device
 * acknowledges it. The SDK hands each alert id to the app once per client, however often the
 * server redelivers it.
 */
export interface Alert<T = unknown> {
  /** The alert id (the server's, `A` + 20 characters). */
  id: string;
  /** The event name. */
  event: string;
  /** The payload (any JSON). */
  data: T;
  /** When the alert was stored, ms since the epoch (redeliveries keep it). */
  ts: number;
  /** When it expires, ms since the epoch, when it was stored with a `ttlMs`. */
  expiresAt?: number;
  /**
   * Acknowledges it (marks it read on every device). Batched with other acks of the same
   * moment; resolves once the server has stored it, sent again after a reconnect.
   */
  ack(): Promise<void>;
}

/** One alert of an inbox listing (`client.inbox()`). */
export interface InboxAlert<T = unknown> {
  id: string;
  event: string;
  data: T;
  ts: number;
  /** True once a device (or the API) acknowledged it. */
  read: boolean;
  expiresAt?: number;
}

/** The user's inbox as `client.inbox()` gives it. */
export interface Inbox {
  userId: string;
  /** Unread, unexpired alerts of the user (all of them, not only those listed). */
  unread: number;
  /** Oldest first, at most the `limit` asked for. */
  alerts: InboxAlert[];
  /** Unread alerts the inbox cap dropped so far (a running total). */
  dropped: number;
  /** When the latest drop happened, ms since the epoch (when `dropped` > 0). */
  droppedAt?: number;
}

/** Why alerts left the inbox unread (`withdrawn`). */
export type WithdrawReason = 'collapsed' | 'expired' | 'deleted' | 'dropped' | 'not_stored';

/** Alerts that left the inbox without being read: take them off the screen and the count. */
export interface WithdrawnEvent {
  alerts: string[];
  reason: WithdrawReason;
  /** For `collapsed`: the id of the alert that replaced them (it arrives as an `alert`). */
  replacedBy?: string;
}

/** A room's online count, cluster-wide. */
export interface PresenceEvent {
  room: string;
  online: number;
}

/** `welcome`: the first frame of a connection. */
export interface WelcomeFrame {
  type: 'welcome';
  connId: string;
  /** Ms between server pings when the server has nothing else to send. */
  heartbeat: number;
  userId?: string;
  /** The largest frame the server reads, bytes; a bigger one would close the connection. */
  maxFrameBytes?: number;
}

/** `joined`: the reply to `join`. */
export interface JoinedFrame {
  type: 'joined';
  id?: RequestId;
  room: string;
  online: number;
  offset: number;
  epoch: string;
  recovered: boolean;
  messages: RoomMessage[];
}

/** `error`: a refused request (or a connection-level problem when it has no id). */
export interface ErrorFrame {
  type: 'error';
  id?: RequestId;
  code: ServerErrorCode;
  message: string;
  /** Optional: how long the server asks the client to wait before trying again, in ms. */
  retryAfterMs?: number;
}

/** An alert as the server lists it (`inbox` reply); the SDK renames `alert` to `id`. */
export interface WireInboxAlert {
  alert: string;
  event: string;
  data: unknown;
  ts: number;
  read: boolean;
  expiresAt?: number;
}

/** `inbox`: the reply to the `inbox` command. */
export interface InboxFrame {
  type: 'inbox';
  id?: RequestId;
  userId: string;
  unread: number;
  alerts: WireInboxAlert[];
  dropped: number;
  droppedAt?: number;
}

/** Any object the server sends; `type` tells which. Unknown types are ignored by the SDK. */
export type ServerFrame =
  | WelcomeFrame
  | JoinedFrame
  | ErrorFrame
  | InboxFrame
  | ({ type: 'message' } & RoomMessage)
  | ({ type: 'push'; alert?: string; expiresAt?: number } & PushEvent)
  | { type: 'read'; alerts: string[] }
  | ({ type: 'withdrawn' } & WithdrawnEvent)
  | { type: 'dropped'; count: number; ts: number }
  | ({ type: 'presence' } & PresenceEvent)
  | { type: 'skipped'; room: string; count: number }
  | { type: 'left'; room: string; reason: string }
  | { type: 'ping'; id?: RequestId }
  | { type: 'pong'; id?: RequestId }
  | {
      type: 'ok';
      id?: RequestId;
      userId?: string;
      offset?: number;
      acked?: string[];
      unknown?: string[];
    };

/** The message event shape the SDK reads; both the DOM `MessageEvent` and `ws`'s fit it. */
export interface MessageEventLike {
  data: unknown;
}

/** The close event shape the SDK reads. */
export interface CloseEventLike {
  code: number;
  reason: string | { toString(): string };
}

// Handlers are declared through a method type so that they compare bivariantly: the DOM's
// and ws's socket classes declare narrower event types than the SDK needs.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of a WebSocket the SDK uses: the browser's native one and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<MessageEventLike> | null;
  onclose: Handler<CloseEventLike> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `ws`'s `WebSocket` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
