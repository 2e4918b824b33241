/** Reply error codes of the wire contract (PROTOCOL.md). Stable: clients switch on them. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'too_large',
  'rate_limited',
  'unavailable',
] as const;

/** One of the reply error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * WebSocket close codes. 1xxx are the standard ones the contract names; 4xxx are Barrage's.
 * `reconnect` says whether a client should reconnect on its own after this close.
 */
export const CLOSE = {
  /** The server is shutting down or restarting; reconnect (to another node) with back-off. */
  shuttingDown: { code: 1001, reason: 'server shutting down', reconnect: true },
  /** The client sent a binary frame; the protocol is text only. */
  binaryFrame: { code: 1003, reason: 'text frames only', reconnect: false },
  /** Policy violation: a foreign Origin, or abuse. Do not retry as is. */
  policy: { code: 1008, reason: 'policy violation', reconnect: false },
  /** A frame over the size limit. */
  tooLarge: { code: 1009, reason: 'frame too large', reconnect: true },
  /** Server-side error. */
  internal: { code: 1011, reason: 'internal error', reconnect: true },
  /** The node is over capacity; reconnect later with back-off. */
  overloaded: { code: 1013, reason: 'overloaded', reconnect: true },
  /** The token was refused; reconnect only with a new token. */
  unauthorized: { code: 4001, reason: 'unauthorized', reconnect: false },
  /** No `auth` within the auth timeout where auth is required. */
  authTimeout: { code: 4002, reason: 'auth timeout', reconnect: true },
  /** Nothing heard from the client (no frame, no pong) for two heartbeats. */
  noPong: { code: 4003, reason: 'no pong', reconnect: true },
  /**
   * A moderator kicked the user: every connection of the user, on every node. With a duration the
   * reason is `kicked; retryAfterMs=N` and the user is banned meanwhile. Do not reconnect on your own.
   */
  kicked: { code: 4004, reason: 'kicked', reconnect: false },
  /** The client's send buffer went over the hard limit; reconnect and rejoin with `since`. */
  tooSlow: { code: 4008, reason: 'too slow', reconnect: true },
  /** The server lost track of a room's stream; reconnect and rejoin with `since`. */
  resync: { code: 4009, reason: 'resync', reconnect: true },
} as const;

/** A named close: code, default reason, and whether the client should reconnect. */
export type CloseSpec = (typeof CLOSE)[keyof typeof CLOSE];
