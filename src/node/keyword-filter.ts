/**
 * The keyword filter: blocked words matched case-insensitively, as substrings, in every string of
 * a message's data (object keys untouched, at most 32 levels deep). Used by moderation.ts.
 */

/** What the keyword filter does with a client message that contains a blocked word. */
export type BlockedWordsAction = 'reject' | 'mask';

/** What the filter made of a message. */
export type FilterOutcome =
  | { outcome: 'clean' | 'masked'; data: unknown }
  | { outcome: 'blocked'; data?: undefined };

/** Deeper values are not searched (the frame size bounds them anyway). */
const MAX_DEPTH = 32;

/** One compiled list of blocked words and what to do on a match. */
export class KeywordFilter {
  private readonly words: RegExp | null;

  constructor(
    words: readonly string[],
    private readonly action: BlockedWordsAction,
  ) {
    const list = words.map((w) => w.trim()).filter((w) => w.length > 0);
    this.words =
      list.length === 0
        ? null
        : new RegExp(list.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu');
  }

  /** Whether any word is configured. */
  get active(): boolean {
    return this.words !== null;
  }

  /** `blocked` (reject mode), `masked` with each match turned into as many `*`, or `clean`. */
  apply(data: unknown): FilterOutcome {
    const words = this.words;
    if (!words) return { outcome: 'clean', data };
    if (this.action === 'reject') {
      return someString(data, (s) => matches(words, s), 0)
        ? { outcome: 'blocked' }
        : { outcome: 'clean', data };
    }
    let masked = false;
    const out = mapStrings(data, 0, (s) => {
      if (!matches(words, s)) return s;
      masked = true;
      return s.replace(words, (m) => '*'.repeat([...m].length));
    });
    return { outcome: masked ? 'masked' : 'clean', data: out };
  }
}

function matches(words: RegExp, s: string): boolean {
  words.lastIndex = 0;
  const found = words.test(s);
  words.lastIndex = 0;
  return found;
}

function someString(value: unknown, test: (s: string) => boolean, depth: number): boolean {
  if (typeof value === 'string') return test(value);
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return false;
  const items = Array.isArray(value) ? value : Object.values(value);
  return items.some((v) => someString(v, test, depth + 1));
}

function mapStrings(value: unknown, depth: number, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, depth + 1, fn));
  // fromEntries defines own properties: a `__proto__` key stays data.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, mapStrings(v, depth + 1, fn)]),
  );
}
