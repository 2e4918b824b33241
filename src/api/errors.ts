import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ReplyError } from '../node/index.js';
import type { ErrorCode } from '../protocol/index.js';

/** The HTTP status of each contract error code. */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

/** Answers `{"error":{"code","message"}}` with the code's status. */
export function errorResponse(c: Context, code: ErrorCode, message: string): Response {
  return c.json({ error: { code, message } }, STATUS_OF[code]);
}

/** Maps a thrown error to the contract's error body; unknown errors become 503 `unavailable`. */
export function toErrorResponse(c: Context, err: unknown): Response {
  if (err instanceof ReplyError) return errorResponse(c, err.code, err.message);
  return errorResponse(c, 'unavailable', 'internal error');
}
