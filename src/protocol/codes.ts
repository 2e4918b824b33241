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
 * The HTTP status each reply error code is answered with over HTTP (the API, SSE publishes):
 * one table, so every HTTP edge answers a refusal alike.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
} as const satisfies Record<ErrorCode, number>;

/**
 * What a client does after a close code, by range: the first digit after the thousands tells a
 * client what to do with a code it does not know (as centrifuge splits its codes). Codes below
 * 3000 belong to WebSocket itself (RFC 6455) and are listed one by one in {@link CLOSE};
 * unlisted ones mean the transport failed, and a client reconnects.
 */
export const CLOSE_RANGES = [
  /** Registered with IANA for libraries; Barrage sends none. Reconnect with back-off. */
  { from: 3000, to: 3499, reconnect: true },
  /** Registered with IANA for libraries; Barrage sends none. Do not reconnect on your own. */
  { from: 3500, to: 3999, reconnect: false },
  /** Barrage: a passing condition. Reconnect with back-off (and rejoin with `since`). */
  { from: 4000, to: 4499, reconnect: true },
  /** Barrage: a decision about this client. Do not reconnect on your own. */
  { from: 4500, to: 4999, reconnect: false },
] as const;

/**
 * WebSocket close codes. 1xxx are the standard ones the contract names; 4xxx are Barrage's, in
 * the ranges of {@link CLOSE_RANGES}. `reconnect` says whether a client should reconnect on its
 * own after this close. The SDK keeps a copy (client/close-codes.ts) that a test compares to this.
 */
export const CLOSE = {
  /** The server is shutting down or restarting; reconnect (to another node) with back-off. */
  shuttingDown: { code: 1001, reason: 'server shutting down', reconnect: true },
  /** Sent by `ws`: a frame broke WebSocket framing (unmasked, bad opcode). A client bug. */
  protocolError: { code: 1002, reason: 'protocol error', reconnect: false },
  /** The client sent a binary frame; the protocol is text only. */
  binaryFrame: { code: 1003, reason: 'text frames only', reconnect: false },
  /** Sent by `ws`: a text frame that is not valid UTF-8. A client bug. */
  invalidUtf8: { code: 1007, reason: 'invalid UTF-8', reconnect: false },
  /** Policy violation: a foreign Origin, or abuse. Do not retry as is. */
  policy: { code: 1008, reason: 'policy violation', reconnect: false },
  /** Sent by `ws`: a frame over `maxFrameBytes`. Reconnect, without resending that frame. */
  tooLarge: { code: 1009, reason: 'frame too large', reconnect: true },
  /** Server-side error. */
  internal: { code: 1011, reason: 'internal error', reconnect: true },
  /** The node is over capacity; reconnect later with back-off. */
  overloaded: { code: 1013, reason: 'overloaded', reconnect: true },
  /** No `auth` within the auth timeout where auth is required. */
  authTimeout: { code: 4002, reason: 'auth timeout', reconnect: true },
  /** Nothing heard from the client (no frame, no pong) for two heartbeats. */
  noPong: { code: 4003, reason: 'no pong', reconnect: true },
  /** The client's send buffer went over the hard limit; reconnect and rejoin with `since`. */
  tooSlow: { code: 4008, reason: 'too slow', reconnect: true },
  /** The server lost track of a room's stream; reconnect and rejoin with `since`. */
  resync: { code: 4009, reason: 'resync', reconnect: true },
  /** The token was refused or expired; reconnect only with a new token. */
  unauthorized: { code: 4501, reason: 'unauthorized', reconnect: false },
  /**
   * A moderator kicked the user: every connection of the user, on every node. With a duration the
   * reason is `kicked; retryAfterMs=N` and the user is banned meanwhile. Do not reconnect on your own.
   */
  kicked: { code: 4504, reason: 'kicked', reconnect: false },
} as const;

/** A named close: code, default reason, and whether the client should reconnect. */
export type CloseSpec = (typeof CLOSE)[keyof typeof CLOSE];

/** Whether a client should reconnect on its own after `code`: the catalogue, then the ranges. */
export function closeReconnects(code: number): boolean {
  for (const spec of Object.values(CLOSE)) if (spec.code === code) return spec.reconnect;
  const range = CLOSE_RANGES.find((r) => code >= r.from && code <= r.to);
  return range ? range.reconnect : true;
}
