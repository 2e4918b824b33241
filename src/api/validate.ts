import type { Context, Next } from 'hono';
import { validator } from 'hono/validator';
import { type core, z } from 'zod';
import { errorResponse } from './errors.js';

/** An object schema (possibly refined) whose fields carry their rule as `description`. */
type ObjectSchema = z.ZodObject;

/**
 * Validates the JSON body against `schema` (hono's validator, zod's parse); a bad field answers
 * 400 `bad_request` naming it (`"room" must be a string`). Runs after `readJsonObject`, which has
 * checked the media type and parsed the body (hono caches it, so it is not parsed twice).
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
  const result = await schema.safeParseAsync(value, { error: (issue) => explain(schema, issue) });
  if (result.success) return result.data;
  return errorResponse(c, 'bad_request', result.error.issues.map((i) => i.message).join('; '));
}

/**
 * Middleware for every POST under `/api/`: the body must parse as a JSON object (400 otherwise).
 * The parsed body stays in hono's body cache, so the validator reads it without parsing again.
 */
export async function readJsonObject(c: Context, next: Next): Promise<Response | undefined> {
  let value: unknown;
  try {
    value = await c.req.json();
  } catch {
    return errorResponse(c, 'bad_request', 'body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return errorResponse(c, 'bad_request', 'body must be a JSON object');
  }
  await next();
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
