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
      const dataJson = compactMemberText(line, 'data');
      return ok({
        type: 'publish',
        id,
        room: obj.room as string,
        data: obj.data,
        ...(dataJson !== undefined ? { dataJson } : {}),
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Most digits of an integer whose text is JSON.stringify's without a check: every integer of up to
 * 15 digits is exact in a double and written back digit for digit.
 */
const PLAIN_INTEGER_DIGITS = 15;

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The index after the string that opens at `i` (a quote), escapes skipped. */
function afterString(text: string, i: number): number {
  for (let k = i + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === BACKSLASH) k++;
    else if (c === QUOTE) return k + 1;
  }
  return text.length;
}

/**
 * Deepest nesting whose text is kept: deeper data takes JSON.stringify as before, which refuses
 * what it cannot encode (a value nested thousands deep overflows its stack: `bad_request`), so the
 * WebSocket path refuses what the HTTP API refuses.
 */
const MAX_KEPT_DEPTH = 64;

/**
 * The end of the number that starts at `i`, or -1 when JSON.stringify would write it otherwise:
 * `1.0`, `-0`, `1e2`, `1e400` (null), 24-digit integers (rounded). Strict parsers of other
 * languages refuse some of those, so members get the normalised text, as from the HTTP API.
 * An integer of up to PLAIN_INTEGER_DIGITS digits other than `-0` is taken as written (JSON.parse
 * accepted the text, so it has no leading zero); any other number is kept only when its text is
 * the double's (`String(Number(text))`, which is how JSON.stringify writes a finite number).
 */
function canonicalNumberEnd(text: string, i: number): number {
  let k = i;
  if (text.charCodeAt(k) === MINUS) k++;
  const digitsFrom = k;
  while (k < text.length) {
    const c = text.charCodeAt(k);
    if (c < ZERO || c > NINE) break;
    k++;
  }
  const digits = k - digitsFrom;
  const minusZero = k - i === 2 && digits === 1 && text.charCodeAt(digitsFrom) === ZERO;
  if (!isNumberPart(text.charCodeAt(k)) && digits <= PLAIN_INTEGER_DIGITS && !minusZero) return k;
  while (k < text.length && isNumberPart(text.charCodeAt(k))) k++;
  const written = text.slice(i, k);
  return String(Number(written)) === written ? k : -1;
}

/** A character of a number's fraction or exponent (or a digit). */
function isNumberPart(c: number): boolean {
  return (
    (c >= ZERO && c <= NINE) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS
  );
}

/**
 * The end of the value that starts at `i`, or -1 when its text is not what JSON.stringify would
 * write: whitespace outside its strings, or a number written otherwise (canonicalNumberEnd); or
 * when it nests deeper than MAX_KEPT_DEPTH.
 */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  for (let k = i; k < text.length; ) {
    const c = text.charCodeAt(k);
    if (c === QUOTE) {
      k = afterString(text, k);
      if (depth === 0) return k;
      continue;
    }
    if (c === MINUS || (c >= ZERO && c <= NINE)) {
      k = canonicalNumberEnd(text, k);
      if (k < 0) return -1;
      if (depth === 0) return k;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_KEPT_DEPTH) return -1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return k;
      depth--;
      if (depth === 0) return k + 1;
    } else if (c === COMMA && depth === 0) return k;
    else if (isJsonSpace(c)) {
      if (depth > 0) return -1;
      return k;
    }
    k++;
  }
  return text.length;
}

/**
 * The JSON text of the top-level member `key` of an object's JSON text, when it can stand in for
 * `JSON.stringify` of the parsed value, so a payload is not encoded again after it was parsed:
 * the value holds no whitespace outside its strings, and no top-level key is written with an
 * escape (`"d\u0061ta"` is `data` to JSON.parse; the last of duplicate keys wins, here too), and it
 * nests at most MAX_KEPT_DEPTH deep, and every number in it is written as JSON.stringify writes
 * it (no `1.0`, `-0`, `1e400`, 24-digit integers).
 * Otherwise undefined. Only for text JSON.parse accepted: its structure is not checked again.
 * The text may still differ from JSON.stringify's in how string characters are written
 * (`\u00e9`), never in the value a JSON parser reads from it.
 */
export function compactMemberText(text: string, key: string): string | undefined {
  const n = text.length;
  let i = 0;
  while (i < n && isJsonSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  i++;
  let found: string | undefined;
  // Each turn reads one member (or a separator) and moves i forward: bounded by the text.
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isJsonSpace(c) || c === COMMA) {
      i++;
      continue;
    }
    if (c !== QUOTE) break; // the closing brace
    const keyEnd = afterString(text, i);
    const name = text.slice(i + 1, keyEnd - 1);
    if (name.includes('\\')) return undefined;
    i = keyEnd;
    while (i < n && text.charCodeAt(i) !== COLON) i++;
    i++;
    while (i < n && isJsonSpace(text.charCodeAt(i))) i++;
    const end = valueEnd(text, i);
    if (name === key) found = end < 0 ? undefined : text.slice(i, end);
    // Whitespace inside the value: skip it structurally.
    const next = end < 0 ? skipValue(text, i) : end;
    if (next <= i) return undefined; // not a value: only for text JSON.parse refused
    i = next;
  }
  return found;
}

/** The end of the value that starts at `i`, whatever whitespace it holds. */
function skipValue(text: string, i: number): number {
  let depth = 0;
  for (let k = i; k < text.length; ) {
    const c = text.charCodeAt(k);
    if (c === QUOTE) {
      k = afterString(text, k);
      if (depth === 0) return k;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return k;
      depth--;
      if (depth === 0) return k + 1;
    } else if (depth === 0 && (c === COMMA || isJsonSpace(c))) return k;
    k++;
  }
  return text.length;
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
