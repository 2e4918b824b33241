import type { Context, Next } from 'hono';
import { validator } from 'hono/validator';
import { type core, z } from 'zod';
import { errorResponse } from './errors.js';

/** An object schema (possibly refined) whose fields carry their rule as `description`. */
type ObjectSchema = z.ZodObject;

/**
 * Validates the JSON body against `schema` (hono's validator, zod's parse); a bad field answers
 * 400 `bad_request` naming it (`"room" must be a string`). Runs after `readJsonObject`, which has
 * checked the media type and that the body is a JSON object (hono caches the text it read).
 */
export function jsonBody<S extends ObjectSchema>(schema: S) {
  return validator('json', (value, c) => check(schema, value, c));
}

/** Validates the query string against `schema` the same way. */
export function queryOf<S extends ObjectSchema>(schema: S) {
  return validator('query', (value, c) => check(schema, value, c));
}

async function check<S extends ObjectSchema>(
  schema: S,
  value: unknown,
  c: Context,
): Promise<z.output<S> | Response> {
  const result = await checkFields(schema, value);
  return result.ok ? result.data : errorResponse(c, 'bad_request', result.message);
}

/**
 * The body or query `value` checked against `schema`: its typed data, or the `bad_request`
 * message naming each field that breaks its rule. The router's validator and the fast path both
 * call it, so a refusal reads the same on either.
 */
export async function checkFields<S extends ObjectSchema>(
  schema: S,
  value: unknown,
): Promise<{ ok: true; data: z.output<S> } | { ok: false; message: string }> {
  const result = await schema.safeParseAsync(value, { error: (issue) => explain(schema, issue) });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, message: result.error.issues.map((i) => i.message).join('; ') };
}

/**
 * Middleware for every POST under `/api/`: the body must parse as a JSON object (400 otherwise).
 * The body's text stays in hono's body cache, so the validator reads it without reading again.
 */
export async function readJsonObject(c: Context, next: Next): Promise<Response | undefined> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    return errorResponse(c, 'bad_request', 'body must be JSON');
  }
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return errorResponse(c, 'bad_request', parsed.message);
  await next();
}

/** A request body's text as a JSON object, or the `bad_request` message saying why it is not. */
export function parseJsonObject(
  text: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'body must be JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'body must be a JSON object' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** `"field" must be RULE`, RULE being the field's description (or its type when that is wrong). */
function explain(schema: ObjectSchema, issue: core.$ZodRawIssue): string | undefined {
  const field = issue.path?.[0];
  if (typeof field !== 'string') return undefined;
  const name = `"${field}"`;
  if (issue.code === 'invalid_type' && typeof issue.input !== issue.expected) {
    const wanted = issue.expected === 'int' ? 'number' : issue.expected;
    if (typeof issue.input !== 'number' || wanted !== 'number')
      return `${name} must be a ${wanted}`;
  }
  const rule = z.globalRegistry.get(schema.shape[field] as z.ZodType)?.description;
  return rule ? `${name} must be ${rule}` : `${name} is not valid`;
}
