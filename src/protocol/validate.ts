/** Rules for names that appear on the wire. Pure functions, no I/O. */

/** Room names: 1 to 128 characters of letters, digits and `_ - : . @ /`. */
export const ROOM_NAME = /^[A-Za-z0-9_\-:.@/]{1,128}$/;
/** Event names for pushes: 1 to 64 characters of letters, digits and `_ - : .`. */
export const EVENT_NAME = /^[A-Za-z0-9_\-:.]{1,64}$/;
/** User ids: 1 to 128 visible characters (no whitespace or control characters). */
export const USER_ID = /^[\x21-\x7e\u00a0-\uffff]{1,128}$/;

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
 * An empty list matches nothing; `['*']` matches everything.
 */
export function compileRoomPatterns(patterns: readonly string[]): (room: string) => boolean {
  if (patterns.includes('*')) return () => true;
  if (patterns.length === 0) return () => false;
  const source = patterns
    .map((p) => p.split('*').map(escapeRegExp).join('.*'))
    .map((p) => `(?:${p})`)
    .join('|');
  const re = new RegExp(`^(?:${source})$`);
  return (room) => re.test(room);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
