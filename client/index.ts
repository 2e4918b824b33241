/**
 * Barrage client SDK: a typed, self-reconnecting client for the Barrage wire contract, for
 * browsers (native WebSocket) and Node 20+ (pass `ws`'s WebSocket as `options.WebSocket`).
 * No runtime dependencies.
 */
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, serverRetryAfter } from './backoff.js';
export { BarrageClient } from './client.js';
export { CLOSE_CODES, CLOSE_RANGES, closeReconnects } from './close-codes.js';
export { connect, createClient } from './connect.js';
export { BarrageError, isBarrageError, TERMINAL_CLOSE_CODES } from './errors.js';
export { parseFrame } from './frames.js';
export type {
  ClientEvents,
  ClientOptions,
  ClientState,
  InboxOptions,
  JoinOptions,
  PublishOptions,
} from './options.js';
export { type RejoinEvent, Subscription, type SubscriptionEvents } from './subscription.js';
export {
  Timeline,
  type TimelineComment,
  type TimelineEvents,
  type TimelineOptions,
} from './timeline.js';
export { tokenExpiresAt } from './token.js';
export type {
  Alert,
  ClientErrorCode,
  ErrorCode,
  Inbox,
  InboxAlert,
  PresenceEvent,
  Priority,
  PushEvent,
  RoomMessage,
  ServerErrorCode,
  WebSocketConstructor,
  WebSocketLike,
  WithdrawnEvent,
  WithdrawReason,
} from './types.js';
