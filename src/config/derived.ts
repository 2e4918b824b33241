import { OPTIONS, type ServerConfig } from './schema.js';

/**
 * Values the server derives from options rather than takes as options, each in one place with
 * its reason. The help text of the option they come from says how.
 */

/**
 * How long a node's shared online counts (and stats report) live in Redis, ms: three missed
 * shares plus a second, so a slow share is not taken for a dead node, and a dead one fades fast.
 */
export function presenceTtlMs(config: Pick<ServerConfig, 'presenceIntervalMs'>): number {
  return 3 * config.presenceIntervalMs + 1000;
}

/**
 * The largest `history` a join may ask for: the most any server could hold. A larger ask is a
 * malformed command; a smaller one past this server's `historySize` is capped, not refused.
 */
export const MAX_JOIN_HISTORY = OPTIONS.historySize.max;

/**
 * How often node's HTTP server checks header and request timeouts, ms: a quarter of
 * `headersTimeoutMs` (so a slowloris client is cut within 1.25x of it), at least every 250 ms.
 */
export function connectionsCheckingIntervalMs(
  config: Pick<ServerConfig, 'headersTimeoutMs'>,
): number {
  return Math.max(250, Math.floor(config.headersTimeoutMs / 4));
}

/** The longest a whole API request may take, ms: 30 s, or the header timeout if that is longer. */
export function requestTimeoutMs(config: Pick<ServerConfig, 'headersTimeoutMs'>): number {
  return Math.max(30_000, config.headersTimeoutMs);
}
