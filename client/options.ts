import type { BackoffOptions } from './backoff.js';
import type { BarrageError } from './errors.js';
import type { TransportName } from './transports.js';
import type {
  Alert,
  PresenceEvent,
  Priority,
  PushEvent,
  WebSocketConstructor,
  WithdrawnEvent,
} from './types.js';

/** Options of {@link connect} and {@link createClient}. */
export interface ClientOptions {
  /** A fixed token (JWT) sent in `auth`. Omit both `token` and `getToken` to stay anonymous. */
  token?: string;
  /**
   * Fetches a token. Called before the first connect, before a reconnect when the current token
   * has expired (by its `exp`), and after the server refused a token (close 4501).
   */
  getToken?: () => string | Promise<string>;
  /** Only pushes of these events reach this connection (sent in `auth`). */
  events?: string[];
  /** The WebSocket constructor. Defaults to `globalThis.WebSocket`; in Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /**
   * Transports to try, in order: `websocket`, then `sse` (Server-Sent Events for reading, POST for
   * publishing) when the WebSocket is blocked. See docs/sse.md. @default ['websocket', 'sse']
   */
  transports?: TransportName[];
  /** The SSE endpoint. @default the URL's last path segment replaced by `sse` (`/ws` → `/sse`) */
  sseUrl?: string;
  /** Reconnect back-off. @default { initialMs: 500, maxMs: 30000, factor: 2 } */
  backoff?: BackoffOptions;
  /** Reconnect after a connection drops. @default true */
  reconnect?: boolean;
  /** Time for a request's reply (waiting for a connection included), in ms. @default 10000 */
  requestTimeoutMs?: number;
  /** Time from opening a socket to `welcome` (and `auth` reply), in ms. @default 10000 */
  connectTimeoutMs?: number;
  /** `connect()` only: give up when not connected within this many ms. @default 15000 */
  timeoutMs?: number;
  /**
   * Acknowledge each alert as soon as the `alert` listeners have run (docs/alerts.md). Leave it
   * off to acknowledge when the user has seen it, with `alert.ack()`. @default false
   */
  autoAck?: boolean;
  /**
   * Alert ids remembered so that each alert reaches `alert` once, however often the server
   * redelivers it (the least recently seen are forgotten first). @default 5000
   */
  seenAlertIds?: number;
}

/** Options of `BarrageClient.inbox`. */
export interface InboxOptions {
  /** Only unread alerts. @default false */
  unread?: boolean;
  /** Most alerts listed, 1-1000. @default 100 (the server's) */
  limit?: number;
}

/** Options of `BarrageClient.join`. */
export interface JoinOptions {
  /** Deliver up to this many past messages first. */
  history?: number;
  /** Resume from a position saved earlier (e.g. before a page reload). */
  since?: { offset: number; epoch: string };
  /**
   * Messages a second this client can show (0 or absent: no limit). Above it the server sends a
   * fair sample and says how many it left out (`skipped` events). Kept across rejoins.
   */
  budget?: number;
}

/** Options of `BarrageClient.publish`. */
export interface PublishOptions {
  /** The message class; above `normal` the token must allow it. @default 'normal' */
  priority?: Priority;
  /** Media time in ms, for timeline rooms (`vod:*`): required there, refused elsewhere. */
  t?: number;
}

/** Where the client is: `open` means authenticated and ready for requests. */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Events of a `BarrageClient`. */
export interface ClientEvents {
  /** The state changed. */
  state: ClientState;
  /** The transport of the next connection changed (a fallback, or back to the first). */
  transport: TransportName;
  /** Connected and authenticated; rooms are being rejoined when `reconnected`. */
  open: { reconnected: boolean; connId: string; userId: string | null };
  /**
   * The connection closed; `willReconnect` says whether the client tries again, after `delayMs`.
   * `error` says why, when the socket never opened (refused, HTTP 404, getToken threw) or the
   * close was final.
   */
  close: {
    code: number;
    reason: string;
    willReconnect: boolean;
    delayMs: number;
    error?: BarrageError;
  };
  /**
   * The server took this connection out of a joined room (`reason` `banned`): the room's
   * subscription has ended (its `end` event fired with `error`) and is no longer in `rooms()`.
   */
  left: { room: string; reason: string; error: BarrageError };
  /** A targeted push or broadcast that is not stored (stored ones are `alert`s). */
  push: PushEvent;
  /**
   * A stored push (an alert) of this user: once per alert id in the client's lifetime, live or
   * redelivered after a (re)connect. Alerts that arrive before the first `alert` listener is
   * added are kept (up to 1000, minus those read or withdrawn meanwhile) and handed to it.
   */
  alert: Alert;
  /** Alerts were acknowledged (on this or another device, or by the API): clear them. */
  read: { alerts: string[] };
  /** Alerts left the inbox unread (replaced by a collapse, expired, deleted, dropped). */
  withdrawn: WithdrawnEvent;
  /**
   * The server dropped unread alerts of this user (the inbox cap): reload the alert state
   * (`inbox()`) instead of trusting local counts. Fires once per newer drop (`ts`).
   */
  resync: { count: number; ts: number };
  /** A room's online count changed (also sent to that room's subscription). */
  presence: PresenceEvent;
  /** A problem not tied to one request: an `error` frame without id, a failed rejoin, getToken. */
  error: BarrageError;
}
