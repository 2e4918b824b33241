import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * hono's `bodyLimit`, without its cost where it is not needed: a request that declares its length
 * (`Content-Length`, no `Transfer-Encoding`) is judged by the header alone, as `bodyLimit` judges
 * it, but without first asking for the body as a Web stream (which makes @hono/node-server build
 * a whole Web `Request` and `ReadableStream`, the larger part of an API call's CPU). Chunked bodies
 * still go through `bodyLimit`, which counts them as they arrive.
 */
export function lengthLimit(
  maxSize: number,
  onError: (c: Context) => Response | Promise<Response>,
): MiddlewareHandler {
  const counted = bodyLimit({ maxSize, onError });
  return async (c: Context, next: Next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next(); // no body to limit
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) {
      return counted(c, next);
    }
    if (Number.parseInt(length, 10) > maxSize) return onError(c);
    return next();
  };
}
