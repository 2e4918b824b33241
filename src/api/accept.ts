/**
 * The valid bodies of the hot calls (`POST /api/push`, `/api/publish`) recognised without zod.
 * zod's `safeParseAsync` costs a large part of a fast-path call's own CPU (promises, issue
 * objects, a copy of the body), while a valid body only needs a few `typeof` checks and the
 * protocol's regular expressions. Each acceptor returns what zod would output for a body that
 * keeps every rule (the known fields only, as `z.object` strips the rest), or null for anything
 * else: the caller then asks zod (validate.ts `checkFields`), which names what is wrong, so a
 * refusal reads exactly as before. test: src/api/accept.test.ts holds each acceptor to its schema.
 */
import type { z } from 'zod';
import { MAX_ALERT_TTL_MS } from '../node/index.js';
import {
  COLLAPSE_KEY,
  EVENT_NAME,
  MAX_MEDIA_TIME_MS,
  PRIORITIES,
  ROOM_NAME,
  USER_ID,
} from '../protocol/index.js';
import type { publishBody, pushBody } from './schemas.js';

/** `z.int().min(min).max(max)`: a safe integer within the bounds. */
const intWithin = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;

const matches = (value: unknown, rule: RegExp): value is string =>
  typeof value === 'string' && rule.test(value);

/** The `pushBody` output of `body`, or null when zod must judge it (schemas.ts `pushBody`). */
export function acceptPush(body: Record<string, unknown>): z.output<typeof pushBody> | null {
  const { userId, event, data, message, persist, ttlMs, collapseKey, id } = body;
  if (!matches(userId, USER_ID) || !matches(event, EVENT_NAME)) return null;
  if (persist !== undefined && typeof persist !== 'boolean') return null;
  if (ttlMs !== undefined && !intWithin(ttlMs, 1, MAX_ALERT_TTL_MS)) return null;
  if (collapseKey !== undefined && !matches(collapseKey, COLLAPSE_KEY)) return null;
  if (id !== undefined && !matches(id, USER_ID)) return null;
  const out: z.output<typeof pushBody> = { userId, event };
  // Only the fields given, as zod outputs them (JSON has no `undefined`, so absent is absent).
  if ('data' in body) out.data = data;
  if ('message' in body) out.message = message;
  if (persist !== undefined) out.persist = persist;
  if (ttlMs !== undefined) out.ttlMs = ttlMs as number;
  if (collapseKey !== undefined) out.collapseKey = collapseKey;
  if (id !== undefined) out.id = id;
  return out;
}

/** The `publishBody` output of `body`, or null when zod must judge it (schemas.ts `publishBody`). */
export function acceptPublish(body: Record<string, unknown>): z.output<typeof publishBody> | null {
  const { room, data, priority, t } = body;
  if (!matches(room, ROOM_NAME) || data === undefined) return null;
  if (priority !== undefined && !(PRIORITIES as readonly unknown[]).includes(priority)) return null;
  if (t !== undefined && !intWithin(t, 0, MAX_MEDIA_TIME_MS)) return null;
  const out: z.output<typeof publishBody> = { room, data };
  if (priority !== undefined) out.priority = priority as (typeof PRIORITIES)[number];
  if (t !== undefined) out.t = t as number;
  return out;
}
