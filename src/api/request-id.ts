import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

declare module 'hono' {
  interface ContextVariableMap {
    /** The id of the request, sent back as `X-Request-Id` and logged with its errors. */
    requestId: string;
  }
}

/** The longest caller-chosen request id kept; longer ones are replaced. */
const MAX_REQUEST_ID = 255;

/**
 * The id an answer carries as `X-Request-Id`: the caller's own when it is up to 255 characters of
 * `A-Z a-z 0-9 _ - =` (hono's requestId rule, so ids from a proxy pass through), else a new UUID.
 * The router and the fast path (fast-path.ts) both take it from here.
 */
export function requestIdOf(header: string | undefined): string {
  if (!header || header.length > MAX_REQUEST_ID || /[^\w\-=]/.test(header)) return randomUUID();
  return header;
}

/** Middleware: sets `requestId` and the `X-Request-Id` header of the answer. */
export const requestId: MiddlewareHandler = async (c, next) => {
  const id = requestIdOf(c.req.header('x-request-id'));
  c.set('requestId', id);
  c.header('X-Request-Id', id);
  await next();
};
