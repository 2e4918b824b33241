import type { Context } from 'hono';
import { ReplyError } from '../node/index.js';

/**
 * Reads a JSON object body (any content type), refusing what is not one with `bad_request`. For
 * routes outside `/api/` that speak another program's format (DPlayer); `/api/*` bodies go
 * through `readJsonObject` and a schema instead (validate.ts).
 */
export async function jsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ReplyError('bad_request', 'body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReplyError('bad_request', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
