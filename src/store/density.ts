/**
 * The density rule of viewer segments (docs/timeline.md): in each second of media time, every
 * `paid` and `system` comment is kept; the other places, up to the cap, go to the comments of the
 * highest class first, then the lowest `rankOf(id)`, then the lowest id. The rank is a hash of the
 * comment id, so the choice spreads evenly over senders and over the second, and the same set of
 * comments always gives the same segment (a cached segment is stable).
 */

/** FNV-1a (32 bit) of the id, as a non-negative 31-bit integer (fits PostgreSQL's `integer`). */
export function rankOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 1) & 0x7fffffff;
}

/** The class level at and above which a comment is never left out of a segment (paid, system). */
export const KEPT_LEVEL = 2;

/** Longest media time a comment may carry, ms (48 hours). */
export const MAX_MEDIA_MS = 48 * 3_600_000;

export { messageId } from './types.js';
