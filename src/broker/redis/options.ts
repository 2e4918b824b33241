/** Options of the Redis broker, and their defaults. */

/** What `createRedisBroker` takes. Give `url` (one Redis) or `cluster` (Redis Cluster seeds). */
export interface RedisBrokerOptions {
  /** A standalone Redis, e.g. `redis://127.0.0.1:6379`. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * Redis Cluster seed nodes as `host:port`, e.g. `['127.0.0.1:7000']`. When set, `url` is
   * ignored, and rooms, users and broadcasts use sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7).
   */
  cluster?: string[];
  /** Prefix of every key and channel. @default 'barrage' */
  prefix?: string;
  /** This node's id, unique in the cluster (no whitespace or braces). */
  nodeId: string;
  /** Messages kept per room for recovery (exact bound). */
  historySize: number;
  /** How long a message stays in history, ms. */
  historyTtlMs: number;
  /**
   * How long a room's meta (epoch and last offset) lives after its last publish or join, ms.
   * When it expires the room starts over with a new epoch. Never below `historyTtlMs`.
   * @default 86400000 (24 h)
   */
  metaTtlMs?: number;
  /**
   * How long this node's online counts live without a new report, ms: a dead node's counts
   * vanish after this. Set it to about 3 x the report interval. @default 3000
   */
  presenceTtlMs?: number;
  /** How long `push` waits for other nodes to report their deliveries, ms. @default 500 */
  pushTimeoutMs?: number;
  /** A Redis command not answered within this fails with `BrokerUnavailableError`, ms. @default 1000 */
  commandTimeoutMs?: number;
  /** How long `start` waits for Redis before it fails, ms. @default 5000 */
  connectTimeoutMs?: number;
}

/** Options with every default applied. */
export interface ResolvedRedisOptions {
  url: string;
  cluster: string[] | null;
  prefix: string;
  nodeId: string;
  historySize: number;
  historyTtlMs: number;
  metaTtlMs: number;
  presenceTtlMs: number;
  pushTimeoutMs: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`Redis broker option ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** Applies defaults and checks the options; throws on a bad value. */
export function resolveRedisOptions(o: RedisBrokerOptions): ResolvedRedisOptions {
  if (typeof o.nodeId !== 'string' || !/^[\x21-\x7a\x7c\x7e]{1,200}$/.test(o.nodeId)) {
    throw new Error(`Redis broker nodeId must be 1-200 visible ASCII characters without braces`);
  }
  const historyTtlMs = positiveInt('historyTtlMs', o.historyTtlMs, 0);
  const cluster = o.cluster && o.cluster.length > 0 ? [...o.cluster] : null;
  for (const seed of cluster ?? []) {
    if (!/^[^:\s]+:\d+$/.test(seed))
      throw new Error(`Redis cluster seed must be host:port: ${seed}`);
  }
  return {
    url: o.url ?? 'redis://127.0.0.1:6379',
    cluster,
    prefix: o.prefix ?? 'barrage',
    nodeId: o.nodeId,
    historySize: positiveInt('historySize', o.historySize, 0),
    historyTtlMs,
    metaTtlMs: Math.max(positiveInt('metaTtlMs', o.metaTtlMs ?? 86_400_000), historyTtlMs),
    presenceTtlMs: positiveInt('presenceTtlMs', o.presenceTtlMs ?? 3000, 100),
    pushTimeoutMs: positiveInt('pushTimeoutMs', o.pushTimeoutMs ?? 500),
    commandTimeoutMs: positiveInt('commandTimeoutMs', o.commandTimeoutMs ?? 1000, 10),
    connectTimeoutMs: positiveInt('connectTimeoutMs', o.connectTimeoutMs ?? 5000, 10),
  };
}
