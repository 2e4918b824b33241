/** Reconnect back-off settings. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @default 500 */
  initialMs?: number;
  /** Largest delay, in ms. @default 30000 */
  maxMs?: number;
  /** Growth per failed attempt. @default 2 */
  factor?: number;
}

/** Back-off settings with every field set. */
export type ResolvedBackoff = Required<BackoffOptions>;

/** The defaults: 0.5 s, doubling, capped at 30 s. */
export const DEFAULT_BACKOFF: ResolvedBackoff = { initialMs: 500, maxMs: 30_000, factor: 2 };

/** Fills in defaults and checks the numbers (a bad setting is a programmer error). */
export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const b = { ...DEFAULT_BACKOFF, ...stripUndefined(options) };
  if (!(b.initialMs > 0) || !(b.maxMs >= b.initialMs) || !(b.factor >= 1)) {
    throw new TypeError('backoff: need initialMs > 0, maxMs >= initialMs and factor >= 1');
  }
  return b;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): exponential growth capped at
 * `maxMs`, with "equal jitter" (a random point in the upper half) so that many clients dropped at
 * once do not come back at once, while every delay stays at least half the nominal one.
 * `random` returns a number in [0, 1); it is a parameter so tests can pin it.
 * The result lies in [min(initial * factor^attempt, max) / 2, min(initial * factor^attempt, max)].
 */
export function backoffDelay(
  attempt: number,
  options: ResolvedBackoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent so factor^n cannot overflow to Infinity on very long outages.
  const nominal = Math.min(options.maxMs, options.initialMs * options.factor ** Math.min(n, 64));
  const half = nominal / 2;
  return Math.round(half + half * Math.min(Math.max(random(), 0), 1));
}

/**
 * Reads a back-off the server asked for: an `error` frame's `retryAfterMs`, or a close reason
 * such as `overloaded; retry after 5000` or `retryAfterMs=5000`. Returns ms, or undefined.
 */
export function serverRetryAfter(hint: unknown): number | undefined {
  if (typeof hint === 'number') return Number.isFinite(hint) && hint >= 0 ? hint : undefined;
  if (typeof hint !== 'string') return undefined;
  const m = /retry[\s_-]*after(?:[\s_-]*ms)?\D{0,3}(\d{1,9})/i.exec(hint);
  return m ? Number(m[1]) : undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
