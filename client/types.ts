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

/** Any object the server sends; `type` tells which. Unknown types are ignored by the SDK. */
export type ServerFrame =
  | WelcomeFrame
  | JoinedFrame
  | ErrorFrame
  | ({ type: 'message' } & RoomMessage)
  | ({ type: 'push' } & PushEvent)
  | ({ type: 'presence' } & PresenceEvent)
  | { type: 'skipped'; room: string; count: number }
  | { type: 'left'; room: string; reason: string }
  | { type: 'ping'; id?: RequestId }
  | { type: 'pong'; id?: RequestId }
  | { type: 'ok'; id?: RequestId; userId?: string; offset?: number };

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
