import type { ErrorCode } from './codes.js';
import {
  type ClientCommand,
  DEFAULT_INBOX_LIMIT,
  MAX_ACK_ALERTS,
  MAX_INBOX_LIMIT,
  MAX_MEDIA_TIME_MS,
  PRIORITIES,
  type Priority,
  type RequestId,
  type StreamPosition,
} from './frames.js';
import { alertIdProblem, eventNameProblem, roomNameProblem } from './validate.js';

/** Bounds that the parser enforces on fields. */
export interface ParseLimits {
  /** Longest accepted token, in characters. */
  maxTokenLength: number;
  /** Most event names in one `auth`. */
  maxEvents: number;
  /** Largest `history` a join may ask for; larger asks are refused (the node caps the rest at what it holds). */
  maxHistory: number;
}

/**
 * Default parse limits: the server's defaults (`maxTokenLength`, `maxAuthEvents`, and the largest
 * `historySize` a server can have; src/config/load.test.ts keeps them equal).
 */
export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxTokenLength: 8192,
  maxEvents: 32,
  maxHistory: 100_000,
};

/** The largest render budget a `join` takes, messages a second (0: no limit). */
export const MAX_RENDER_BUDGET = 100_000;

/** A refused line: the code and a message naming the problem, with the request id if one was read. */
export interface ParseError {
  ok: false;
  id?: RequestId;
  code: ErrorCode;
  message: string;
}

/** The outcome of parsing one line: a typed command or a typed error. */
export type ParseResult = { ok: true; command: ClientCommand } | ParseError;

/**
 * Splits a client frame into its lines (newline-delimited JSON), skipping blank ones.
 * A frame with a single line (the common case) costs no split.
 */
export function splitLines(frame: string): string[] {
  if (frame.indexOf('\n') === -1) return frame.trim() === '' ? [] : [frame];
  return frame.split('\n').filter((line) => line.trim() !== '');
}

/** Parses and validates one line of a client frame into a command, never throwing. */
export function parseCommand(
  line: string,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(undefined, `invalid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(undefined, 'a frame line must be a JSON object');
  }
  const obj = value as Record<string, unknown>;
  const idProblem = requestIdProblem(obj.id);
  if (idProblem) return fail(undefined, idProblem);
  const id = obj.id as RequestId | undefined;
  if (typeof obj.type !== 'string') return fail(id, '"type" must be a string');
  switch (obj.type) {
    case 'auth':
      return parseAuth(obj, id, limits);
    case 'join':
      return parseJoin(obj, id, limits);
    case 'leave': {
      const problem = roomNameProblem(obj.room);
      if (problem) return fail(id, problem);
      return ok({ type: 'leave', id, room: obj.room as string });
    }
    case 'publish': {
      const problem = roomNameProblem(obj.room);
      if (problem) return fail(id, problem);
      if (!('data' in obj) || obj.data === undefined) return fail(id, '"data" is required');
      if (obj.priority !== undefined && !PRIORITIES.includes(obj.priority as Priority)) {
        return fail(id, `"priority" must be one of ${PRIORITIES.join(', ')}`);
      }
      const priority = obj.priority as Priority | undefined;
      const tProblem = mediaTimeProblem(obj.t);
      if (tProblem) return fail(id, tProblem);
      return ok({
        type: 'publish',
        id,
        room: obj.room as string,
        data: obj.data,
        ...(priority ? { priority } : {}),
        ...(obj.t !== undefined ? { t: obj.t as number } : {}),
      });
    }
    case 'ping':
      return ok({ type: 'ping', id });
    case 'pong':
      return ok({ type: 'pong', id });
    case 'ack':
      return parseAck(obj, id);
    case 'inbox':
      return parseInbox(obj, id);
    default:
      return fail(id, `unknown type ${JSON.stringify(obj.type.slice(0, 32))}`);
  }
}

function parseAuth(
  obj: Record<string, unknown>,
  id: RequestId | undefined,
  limits: ParseLimits,
): ParseResult {
  const token = obj.token;
  if (typeof token !== 'string' || token.length === 0) {
    return fail(id, '"token" must be a non-empty string');
  }
  if (token.length > limits.maxTokenLength) {
    return fail(id, `"token" is longer than ${limits.maxTokenLength} characters`, 'too_large');
  }
  if (obj.events === undefined) return ok({ type: 'auth', id, token });
  if (!Array.isArray(obj.events)) return fail(id, '"events" must be an array of event names');
  if (obj.events.length > limits.maxEvents) {
    return fail(id, `"events" may name at most ${limits.maxEvents} events`);
  }
  for (const event of obj.events) {
    const problem = eventNameProblem(event);
    if (problem) return fail(id, `in "events": ${problem}`);
  }
  return ok({ type: 'auth', id, token, events: obj.events as string[] });
}

function parseJoin(
  obj: Record<string, unknown>,
  id: RequestId | undefined,
  limits: ParseLimits,
): ParseResult {
  const problem = roomNameProblem(obj.room);
  if (problem) return fail(id, problem);
  let since: StreamPosition | undefined;
  if (obj.since !== undefined) {
    const s = obj.since as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      return fail(id, '"since" must be an object {"offset": N, "epoch": "..."}');
    }
    if (!isNonNegativeInteger(s.offset))
      return fail(id, '"since.offset" must be a non-negative integer');
    if (typeof s.epoch !== 'string' || s.epoch.length > 64) {
      return fail(id, '"since.epoch" must be a string of at most 64 characters');
    }
    since = { offset: s.offset, epoch: s.epoch };
  }
  let history: number | undefined;
  if (obj.history !== undefined) {
    if (!isNonNegativeInteger(obj.history) || obj.history > limits.maxHistory) {
      return fail(id, `"history" must be an integer from 0 to ${limits.maxHistory}`);
    }
    history = obj.history;
  }
  if (obj.before !== undefined && !isNonNegativeInteger(obj.before)) {
    return fail(id, '"before" must be a non-negative integer offset');
  }
  if (obj.beforeEpoch !== undefined) {
    if (typeof obj.beforeEpoch !== 'string' || obj.beforeEpoch.length > 64) {
      return fail(id, '"beforeEpoch" must be a string of at most 64 characters');
    }
  }
  let budget: number | undefined;
  if (obj.budget !== undefined) {
    if (!isNonNegativeInteger(obj.budget) || obj.budget > MAX_RENDER_BUDGET) {
      return fail(
        id,
        '"budget" must be an integer from 0 to 100000 (messages a second; 0: no limit)',
      );
    }
    budget = obj.budget;
  }
  return ok({
    type: 'join',
    id,
    room: obj.room as string,
    since,
    history,
    ...(budget !== undefined ? { budget } : {}),
    ...(obj.before !== undefined ? { before: obj.before as number } : {}),
    ...(obj.beforeEpoch !== undefined ? { beforeEpoch: obj.beforeEpoch as string } : {}),
  });
}

function parseAck(obj: Record<string, unknown>, id: RequestId | undefined): ParseResult {
  const alerts = obj.alerts;
  if (!Array.isArray(alerts) || alerts.length === 0 || alerts.length > MAX_ACK_ALERTS) {
    return fail(id, `"alerts" must be an array of 1 to ${MAX_ACK_ALERTS} alert ids`);
  }
  for (const alert of alerts) {
    const problem = alertIdProblem(alert);
    if (problem) return fail(id, `in "alerts": ${problem}`);
  }
  return ok({ type: 'ack', id, alerts: [...new Set(alerts as string[])] });
}

function parseInbox(obj: Record<string, unknown>, id: RequestId | undefined): ParseResult {
  if (obj.unread !== undefined && typeof obj.unread !== 'boolean') {
    return fail(id, '"unread" must be a boolean');
  }
  const limit = obj.limit ?? DEFAULT_INBOX_LIMIT;
  if (!isNonNegativeInteger(limit) || limit < 1 || limit > MAX_INBOX_LIMIT) {
    return fail(id, `"limit" must be an integer from 1 to ${MAX_INBOX_LIMIT}`);
  }
  return ok({ type: 'inbox', id, unread: obj.unread === true, limit });
}

/** Why a media time `t` is refused, or null when it is absent or an integer from 0 to 48 h. */
export function mediaTimeProblem(t: unknown): string | null {
  if (t === undefined) return null;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_MEDIA_TIME_MS) {
    return `"t" must be an integer media time in ms from 0 to ${MAX_MEDIA_TIME_MS}`;
  }
  return null;
}

function requestIdProblem(id: unknown): string | null {
  if (id === undefined) return null;
  if (typeof id === 'number' && Number.isFinite(id)) return null;
  if (typeof id === 'string' && id.length <= 64) return null;
  return '"id" must be a number or a string of at most 64 characters';
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function ok(command: ClientCommand): ParseResult {
  return { ok: true, command };
}

function fail(
  id: RequestId | undefined,
  message: string,
  code: ErrorCode = 'bad_request',
): ParseError {
  return id === undefined ? { ok: false, code, message } : { ok: false, id, code, message };
}
