import type { Logger } from '../log.js';
import { StoreUnavailableError } from '../store/types.js';
import { ReplyError } from './errors.js';

/** What a client is told when the store fails: a stable text, never the driver's. */
export const STORE_UNAVAILABLE = 'the store is unavailable; try again later';

/** At most one failure line a second per logger; the lines left out are counted in the next. */
const LOG_EVERY_MS = 1000;
const lastLogged = new WeakMap<Logger, { at: number; skipped: number }>();

/**
 * Runs a store call for a client (an HTTP read, a stored push, an ack). A failure answers the
 * contract's `unavailable` with `STORE_UNAVAILABLE`: a database's error text can name tables,
 * hosts and values, so it goes to the server's log, never to the client. A `ReplyError` (the
 * engine refusing the request itself) passes through as it is.
 */
export async function viaStore<T>(log: Logger, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ReplyError) throw err;
    logFailure(log, err);
    throw new ReplyError('unavailable', STORE_UNAVAILABLE);
  }
}

/**
 * Logs a store failure, a line a second at most. The message is the store's: the stores say
 * `postgres: …` / `sqlite: …` and redact their URL's password (postgres/client.ts), and no other
 * field of the driver's error (its query, its parameters) is written.
 */
function logFailure(log: Logger, err: unknown): void {
  const now = Date.now();
  const last = lastLogged.get(log);
  if (last && now - last.at < LOG_EVERY_MS) {
    last.skipped++;
    return;
  }
  const expected = err instanceof StoreUnavailableError;
  const fields = {
    err: err instanceof Error ? err.message : String(err),
    ...(last?.skipped ? { alsoFailed: last.skipped } : {}),
  };
  lastLogged.set(log, { at: now, skipped: 0 });
  if (expected) log.warn(fields, 'store call failed: answered unavailable');
  else log.error(fields, 'store call failed unexpectedly: answered unavailable');
}
