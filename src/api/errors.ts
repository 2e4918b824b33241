import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../log.js';
import { ReplyError } from '../node/index.js';
import { ERROR_STATUS, type ErrorCode } from '../protocol/index.js';

/**
 * Codes only the HTTP API answers with: they describe the HTTP request itself (its method, its
 * media type, its origin) or a bug, never a command, so the WebSocket catalogue does not have them.
 */
export const HTTP_ONLY_CODES = [
  'method_not_allowed',
  'unsupported_media_type',
  'internal',
] as const;

/** Every code an HTTP error body can carry: the reply codes plus the HTTP-only ones. */
export type HttpErrorCode = ErrorCode | (typeof HTTP_ONLY_CODES)[number];

/**
 * The HTTP status of each code: the whole catalogue of statuses the API answers errors with
 * (docs/errors.md and docs/http-api.md list the same; a test compares them).
 */
export const STATUS_OF: Record<HttpErrorCode, ContentfulStatusCode> = {
  ...ERROR_STATUS,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  internal: 500,
};

/** A refusal of an API request: its code (which gives the status) and message. */
export interface ApiRefusal {
  code: HttpErrorCode;
  message: string;
}

/** The JSON text of an error answer: `{"error":{"code","message"}}`. */
export function errorText(code: HttpErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** Answers `{"error":{"code","message"}}` with the code's status. */
export function errorResponse(c: Context, code: HttpErrorCode, message: string): Response {
  return c.json({ error: { code, message } }, STATUS_OF[code]);
}

/**
 * What an error raised while serving a request answers: a `ReplyError` is the engine refusing the
 * request and answers its code; anything else is a bug, logged at error level with the request id
 * (also sent as `X-Request-Id`) and answered `500 internal` without details. Shared by the
 * router's `onError` and the fast path.
 */
export function refusalOf(
  err: unknown,
  log: Logger,
  request: { requestId: string; method: string; path: string },
): ApiRefusal {
  if (err instanceof ReplyError) return { code: err.code, message: err.message };
  if (err instanceof HTTPException && err.status < 500) {
    // Raised by hono's own middleware; none is in use that answers anything but a client error.
    return { code: 'bad_request', message: err.message };
  }
  log.error({ err, ...request }, 'HTTP API: unexpected error');
  return { code: 'internal', message: `internal error (request id ${request.requestId})` };
}

/** `app.onError`: answers what `refusalOf` says. */
export function createErrorHandler(log: Logger): (err: Error, c: Context) => Response {
  return (err, c) => {
    const request = { requestId: c.get('requestId'), method: c.req.method, path: c.req.path };
    const { code, message } = refusalOf(err, log, request);
    return errorResponse(c, code, message);
  };
}
