import type { Context } from 'hono';
import { ReplyError } from '../node/index.js';

/** Reads a JSON object body (any content type), refusing what is not one with `bad_request`. */
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

/** A required string field, or `bad_request` naming it. */
export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string') throw new ReplyError('bad_request', `"${field}" must be a string`);
  return value;
}

/** A required JSON value (anything but undefined), or `bad_request` naming it. */
export function requiredValue(body: Record<string, unknown>, field: string): unknown {
  if (!(field in body)) throw new ReplyError('bad_request', `"${field}" is required`);
  return body[field];
}
