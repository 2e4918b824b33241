import { serverRetryAfter } from './backoff.js';
import { CLOSE_CODES } from './close-codes.js';
import type { ErrorCode, ErrorFrame } from './types.js';

/**
 * The listed close codes after which the client does not reconnect on its own (4501 only with a
 * new token from `getToken`). Unlisted codes go by range: see `closeReconnects`.
 */
export const TERMINAL_CLOSE_CODES: readonly number[] = Object.values(CLOSE_CODES)
  .filter((c) => !c.reconnect)
  .map((c) => c.code);

/**
 * The one exception type of the SDK. `code` is the server's error code (`rate_limited`,
 * `forbidden`, ...) or one of the SDK's own (`disconnected`, `timeout`, `closed`).
 */
export class BarrageError extends Error {
  /** The error code: switch on this, not on the message. */
  readonly code: ErrorCode;
  /** The WebSocket close code, when the error comes from a close. */
  readonly closeCode: number | undefined;
  /** How long the server asked to wait before retrying, in ms, when it said so. */
  readonly retryAfterMs: number | undefined;

  /** Creates an error with a code, a message and optional close code, retry hint and cause. */
  constructor(
    code: ErrorCode,
    message: string,
    extra: { closeCode?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'BarrageError';
    this.code = code;
    this.closeCode = extra.closeCode;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

/** True for errors of this SDK (works across bundles, unlike `instanceof` alone). */
export function isBarrageError(err: unknown): err is BarrageError {
  return err instanceof BarrageError || (err instanceof Error && err.name === 'BarrageError');
}

/** The exception for a server `error` frame. */
export function toError(f: ErrorFrame): BarrageError {
  const retryAfterMs = serverRetryAfter(f.retryAfterMs);
  return new BarrageError(f.code, f.message, retryAfterMs === undefined ? {} : { retryAfterMs });
}

/** The exception for requests on a closed client. */
export function closedError(code?: number): BarrageError {
  return new BarrageError('closed', 'client closed', code === undefined ? {} : { closeCode: code });
}

/**
 * The exception for a close the client does not come back from: `unauthorized` for 4501,
 * `forbidden` for the others (a kick, a policy); `retryAfterMs` from `kicked; retryAfterMs=N`.
 */
export function finalCloseError(code: number, reason: string): BarrageError {
  const retryAfterMs = serverRetryAfter(reason);
  return new BarrageError(
    code === CLOSE_CODES.unauthorized.code ? 'unauthorized' : 'forbidden',
    reason || `closed ${code}`,
    retryAfterMs === undefined ? { closeCode: code } : { closeCode: code, retryAfterMs },
  );
}

/** What a `left` line's reason means, for the error message. */
const REMOVED: Record<string, (room: string) => string> = {
  banned: (room) => `banned from ${room}`,
  not_allowed: (room) => `no longer allowed in ${room} (the new token or authorizeJoin)`,
};

/** The exception that ends a subscription the server removed (a `left` line: a ban, a new token). */
export function removedError(room: string, reason: string): BarrageError {
  const explain = Object.hasOwn(REMOVED, reason) ? REMOVED[reason] : undefined;
  const message = explain?.(room) ?? `removed from ${room} (${reason})`;
  return new BarrageError('forbidden', message);
}
