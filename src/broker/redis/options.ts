/** Options of the Redis broker, and their defaults. */

/**
 * Where the broker reports that Redis was lost and is back (one line each per outage). A structural
 * subset of the server's logger, so this folder needs no import from it.
 */
export interface BrokerLog {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
}

/**
 * What `createRedisBroker` takes. Give `url` (one Redis), `cluster` (Redis Cluster seeds) or
 * `sentinels` with `masterName` (a primary with replicas under Redis Sentinel).
 */
export interface RedisBrokerOptions {
  /**
   * A standalone Redis, `redis://[:password@]host:port[/db]` or `rediss://` (TLS). The database
   * must exist: `start` fails otherwise. @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Redis Cluster seed nodes as `host:port`, e.g. `['127.0.0.1:7000']`. When set, `url` is
   * ignored, and rooms, users and broadcasts use sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7).
   */
  cluster?: string[];
  /**
   * Redis Sentinel addresses as `host:port`. When set (with `masterName`), the broker asks them
   * for the current primary and follows it through failovers; `url` then only gives the password
   * and database of the data nodes, if any.
   */
  sentinels?: string[];
  /** The primary's name as the Sentinels monitor it (`sentinel monitor NAME ...`). */
  masterName?: string;
  /** Lost / back lines, once per outage. @default no logging */
  log?: BrokerLog;
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
  sentinels: string[] | null;
  masterName: string;
  log: BrokerLog | null;
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
  const sentinels = o.sentinels && o.sentinels.length > 0 ? [...o.sentinels] : null;
  for (const address of sentinels ?? []) {
    if (!/^[^:\s]+:\d+$/.test(address))
      throw new Error(`Redis Sentinel address must be host:port: ${address}`);
  }
  if (sentinels && !o.masterName) throw new Error('Redis Sentinel needs masterName');
  const url = o.url ?? 'redis://127.0.0.1:6379';
  redisDatabase(url); // throws on a URL that is not redis:// or rediss:// with a numeric db
  return {
    url,
    cluster,
    sentinels,
    masterName: o.masterName ?? '',
    log: o.log ?? null,
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

/** A Redis URL without its user and password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** The database number a Redis URL selects (0 without a path); throws on a URL Redis cannot take. */
export function redisDatabase(url: string): number {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`Redis URL is not a URL like redis://127.0.0.1:6379/0: ${redactUrl(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`Redis URL must start with redis:// or rediss://: ${redactUrl(url)}`);
  }
  const db = u.pathname.replace(/^\//, '');
  if (db === '') return 0;
  if (!/^\d{1,5}$/.test(db)) {
    throw new Error(`Redis URL path must be a database number like /0: ${redactUrl(url)}`);
  }
  return Number(db);
}
