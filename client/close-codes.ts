/**
 * The close codes of the wire contract as the SDK sees them: a copy of the server's catalogue
 * (`CLOSE` and `CLOSE_RANGES` in src/protocol/codes.ts; the SDK ships alone and imports nothing
 * from the server). close-codes.test.ts fails when the copy and the catalogue, or docs/errors.md,
 * disagree.
 */

/** Each close code the server sends, by name, and whether a client reconnects on its own. */
export const CLOSE_CODES = {
  shuttingDown: { code: 1001, reconnect: true },
  protocolError: { code: 1002, reconnect: false },
  binaryFrame: { code: 1003, reconnect: false },
  invalidUtf8: { code: 1007, reconnect: false },
  policy: { code: 1008, reconnect: false },
  tooLarge: { code: 1009, reconnect: true },
  internal: { code: 1011, reconnect: true },
  overloaded: { code: 1013, reconnect: true },
  authTimeout: { code: 4002, reconnect: true },
  noPong: { code: 4003, reconnect: true },
  tooSlow: { code: 4008, reconnect: true },
  resync: { code: 4009, reconnect: true },
  /** The token was refused or expired: the SDK reconnects only with a new one from `getToken`. */
  unauthorized: { code: 4501, reconnect: false },
  /** A moderator kicked the user: never reconnect on your own. */
  kicked: { code: 4504, reconnect: false },
} as const;

/** Ranges that decide for codes not listed: 4000-4499 reconnect, 4500-4999 do not. */
export const CLOSE_RANGES = [
  { from: 3000, to: 3499, reconnect: true },
  { from: 3500, to: 3999, reconnect: false },
  { from: 4000, to: 4499, reconnect: true },
  { from: 4500, to: 4999, reconnect: false },
] as const;

/** The code the SDK closes with when the app calls `close()`: a normal closure. */
export const NORMAL = 1000;

/** The code the SDK reports when it gives up on a socket itself (no welcome, silent server). */
export const CLIENT_DROPPED = 4000;

/** The code of a socket that ended without a close frame (refused, reset, destroyed). */
export const ABNORMAL = 1006;

/** Whether the SDK reconnects on its own after `code`: the list, then the ranges, else yes. */
export function closeReconnects(code: number): boolean {
  for (const spec of Object.values(CLOSE_CODES)) if (spec.code === code) return spec.reconnect;
  const range = CLOSE_RANGES.find((r) => code >= r.from && code <= r.to);
  return range ? range.reconnect : true;
}
