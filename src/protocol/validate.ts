/** Rules for names that appear on the wire. Pure functions, no I/O. */

/** Room names: 1 to 128 characters of letters, digits and `_ - : . @ /`. */
export const ROOM_NAME = /^[A-Za-z0-9_\-:.@/]{1,128}$/;
/** Event names for pushes: 1 to 64 characters of letters, digits and `_ - : .`. */
export const EVENT_NAME = /^[A-Za-z0-9_\-:.]{1,64}$/;
/** User ids: 1 to 128 visible characters (no whitespace of any script, no control or format characters). */
export const USER_ID = /^[^\s\p{C}]{1,128}$/u;

/** Alert ids: 1 to 64 characters of letters, digits and `_ -` (the server makes `A` + 20). */
export const ALERT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Collapse keys of stored pushes: 1 to 128 characters of letters, digits and `_ - : .`. */
export const COLLAPSE_KEY = /^[A-Za-z0-9_\-:.]{1,128}$/;

/** Explains why an alert id is refused, or returns null when it is fine. */
export function alertIdProblem(alert: unknown): string | null {
  if (typeof alert !== 'string' || !ALERT_ID.test(alert)) {
    return 'an alert id must be 1-64 characters of letters, digits and _ -';
  }
  return null;
}

/** Explains why a room name is refused, or returns null when it is fine. */
export function roomNameProblem(room: unknown): string | null {
  if (typeof room !== 'string') return '"room" must be a string';
  if (!ROOM_NAME.test(room)) {
    return '"room" must be 1-128 characters of letters, digits and _ - : . @ /';
  }
  return null;
}

/** Explains why an event name is refused, or returns null when it is fine. */
export function eventNameProblem(event: unknown): string | null {
  if (typeof event !== 'string') return '"event" must be a string';
  if (!EVENT_NAME.test(event))
    return '"event" must be 1-64 characters of letters, digits and _ - : .';
  return null;
}

/** Explains why a user id is refused, or returns null when it is fine. */
export function userIdProblem(userId: unknown): string | null {
  if (typeof userId !== 'string') return '"userId" must be a string';
  if (!USER_ID.test(userId)) return '"userId" must be 1-128 characters without whitespace';
  return null;
}

/**
 * Compiles room patterns (`*` matches any run of characters, e.g. `live:*`) into one test.
 * An empty list matches nothing; `['*']` matches everything. Matching is a linear-time wildcard
 * walk, never a backtracking regular expression: room names come from clients.
 */
export function compileRoomPatterns(patterns: readonly string[]): (room: string) => boolean {
  if (patterns.includes('*')) return () => true;
  if (patterns.length === 0) return () => false;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns.filter((p) => p.includes('*'));
  return (room) => exact.has(room) || globs.some((glob) => wildcardMatch(glob, room));
}

/**
 * Whether `text` matches `pattern` where `*` stands for any run of characters. The classic
 * two-pointer walk that remembers only the last star: O(pattern x text) at worst, no recursion.
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
