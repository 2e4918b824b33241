/**
 * The PostgreSQL store's connections: the `postgres` client's settings, and its URL kept out of
 * what is logged.
 */
import postgres from 'postgres';

/** The `postgres` client's settings for a pool of `max` connections. */
export function clientOptions(max: number) {
  return {
    max,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    // JIT compiles a plan when its estimated cost is high, as a segment's per-second LATERAL
    // reads are estimated: 10+ ms of compiling for a query that runs in a few. Short OLTP
    // statements never gain from it.
    connection: { jit: 'off' },
    // bigint columns come back as numbers: offsets and ms timestamps stay below 2^53.
    types: { bigint: postgres.BigInt },
  };
}

/**
 * A driver's message with the URL's password taken out, should it ever quote it (the store's
 * failure text is logged: node/store-errors.ts).
 */
export function withoutPassword(message: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return message;
  }
  if (!password) return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // Not percent-encoded: the raw text is all there is to take out.
  }
  return message
    .replaceAll(url, redact(url))
    .replaceAll(password, '***')
    .replaceAll(decoded, '***');
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the database URL';
  }
}
