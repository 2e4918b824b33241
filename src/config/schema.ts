/**
 * Every server option, once: its type, default, bounds and help. Flags (`--kebab-case`), env
 * vars (`BARRAGE_SNAKE_CASE`), config-file keys (camelCase), `--help` and docs/configuration.md
 * all come from this table.
 */

/** The kinds of value an option takes. */
export type OptionType = 'string' | 'int' | 'number' | 'bool' | 'list' | 'enum';

/** One option's definition. */
export interface OptionSpec {
  type: OptionType;
  default: string | number | boolean | readonly string[];
  help: string;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Never printed (keys, secrets). */
  secret?: boolean;
  /** Group heading in help and docs. */
  group:
    | 'Network'
    | 'Security'
    | 'Limits'
    | 'Rooms and history'
    | 'Storage'
    | 'Cluster'
    | 'Operations';
}

const KiB = 1024;
/**
 * The policy of a room that no other rule matches, and of every room when no rule matches at all:
 * merged adaptively (no added delay while the room is cheap; up to 50 ms when its members x rate
 * is high), reliable (nothing skipped; a member that cannot keep up is closed 4008 and resumes
 * with `since`). So a big chat room needs no naming rule to survive load.
 */
export const CATCH_ALL_ROOM_POLICY = '*=50/reliable';
const MiB = 1024 * KiB;

/** The option table. Keep it in sync with `ServerConfig` below (the type check enforces it). */
export const OPTIONS = {
  host: {
    type: 'string',
    default: '127.0.0.1',
    group: 'Network',
    help: 'Address to listen on (0.0.0.0 for every interface)',
  },
  port: {
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    group: 'Network',
    help: 'Port to listen on (0 picks a free one)',
  },
  wsCompressMinBytes: {
    type: 'int',
    default: 0,
    min: 0,
    max: 16 * MiB,
    group: 'Network',
    help: 'Outgoing WebSocket messages of at least this many bytes are compressed once and shared by every client that negotiated permessage-deflate (offered only to clients that let the server bound their window); 0: compression off. See docs/performance.md',
  },
  ssePadBytes: {
    type: 'int',
    default: 0,
    min: 0,
    max: 65_536,
    group: 'Network',
    help: 'Bytes of comment padding an SSE stream gets when it opens and with every heartbeat, so a proxy that buffers that much whatever the headers say passes events at least once a heartbeat (docs/sse.md#proxies-that-buffer); 0: none',
  },
  trustProxy: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Reverse proxies trusted to name the client, as CIDRs (10.0.0.0/8,::1): from them X-Forwarded-For (else Forwarded) is read, the rightmost hop outside the list being the client, for per-IP caps, the keyless API loopback check and logs; headers from other peers are ignored. Empty: off',
  },
  origins: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Allowed browser Origins (WebSocket, SSE, and cross-origin reads of timeline segments and DPlayer GET), comma-separated; * allows any. Same-origin pages are always allowed; with none set, localhost origins are too',
  },
  apiKey: {
    type: 'string',
    default: '',
    secret: true,
    group: 'Security',
    help: 'Bearer key for the HTTP API; without one the API answers loopback callers only',
  },
  apiHosts: {
    type: 'list',
    default: ['localhost', '127.0.0.1', '[::1]'],
    group: 'Security',
    help: 'Host names the HTTP API answers when no API key is set, comma-separated (DNS-rebinding defence; 127.x.x.x addresses always pass)',
  },
  jwtSecret: {
    type: 'string',
    default: '',
    secret: true,
    group: 'Security',
    help: 'HS256 secret for client tokens',
  },
  jwtPublicKey: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'PEM file of an RSA (RS256) or EC P-256 (ES256) public key for client tokens',
  },
  jwksUrl: {
    type: 'string',
    default: '',
    group: 'Security',
    help: "An identity provider's JWKS URL (RS256/ES256 keys by kid): fetched on first use, again after 10 min or on an unknown kid (a key rotation), at most once per --jwks-cooldown-ms",
  },
  jwksCooldownMs: {
    type: 'int',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    group: 'Security',
    help: 'Least time between two JWKS fetches, whatever their outcome: tokens with unknown kids, or traffic while the provider is down, cost it one request per cooldown, ms',
  },
  jwtAudience: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'Required token audience (aud), if set',
  },
  jwtIssuer: {
    type: 'string',
    default: '',
    group: 'Security',
    help: 'Required token issuer (iss), if set',
  },
  allowAnonymousPublish: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Let unauthenticated connections publish (implied, with a warning, when no JWT secret or key is set)',
  },
  requireAuth: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Connections must authenticate within --auth-timeout-ms (close 4002) before joining',
  },
  authTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 100,
    max: 600_000,
    group: 'Security',
    help: 'Time a connection has to authenticate when auth is required, ms',
  },
  blockedWords: {
    type: 'list',
    default: [],
    group: 'Security',
    help: 'Keyword filter: words refused or masked in client messages, comma-separated, matched case-insensitively anywhere in a string (docs/moderation.md)',
  },
  blockedWordsAction: {
    type: 'enum',
    default: 'reject',
    values: ['reject', 'mask'],
    group: 'Security',
    help: 'What the keyword filter does: reject (refuse the message with forbidden) or mask (replace each match with *)',
  },
  metricsPublic: {
    type: 'bool',
    default: false,
    group: 'Security',
    help: 'Serve /metrics without the API key',
  },
  heartbeatMs: {
    type: 'int',
    default: 25_000,
    min: 100,
    max: 600_000,
    group: 'Limits',
    help: 'Server ping after this much quiet, ms; a client silent for twice this is dropped',
  },
  maxFrameBytes: {
    type: 'int',
    default: 64 * KiB,
    min: 256,
    max: 16 * MiB,
    group: 'Limits',
    help: 'Largest client message, bytes (close 1009 above)',
  },
  maxFragments: {
    type: 'int',
    default: 64,
    min: 1,
    max: 16_384,
    group: 'Limits',
    help: 'Frames one client message may be split into (close 1008 above); browsers send one',
  },
  maxConnections: {
    type: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    group: 'Limits',
    help: 'Connections per node (503 at the handshake above)',
  },
  maxConnectionsPerIp: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 10_000_000,
    group: 'Limits',
    help: 'Connections per client IP (429 at the handshake above)',
  },
  admissionRate: {
    type: 'number',
    default: 1000,
    min: 1,
    max: 10_000_000,
    group: 'Limits',
    help: 'New connections admitted per second; above it (and the burst) a client is closed with 1013 and told when to retry',
  },
  admissionBurst: {
    type: 'int',
    default: 2000,
    min: 1,
    max: 10_000_000,
    group: 'Limits',
    help: 'New connections admitted at once above the admission rate',
  },
  reconnectDelayMs: {
    type: 'int',
    default: 3000,
    min: 0,
    max: 600_000,
    group: 'Limits',
    help: 'Back-off advertised to clients turned away for load or closed at shutdown, ms (each gets a random 0.5x to 1.5x of it)',
  },
  maxRoomsPerConnection: {
    type: 'int',
    default: 100,
    min: 1,
    max: 100_000,
    group: 'Limits',
    help: 'Rooms one connection may be in',
  },
  joinRate: {
    type: 'number',
    default: 2,
    min: 0.01,
    max: 1_000_000,
    group: 'Limits',
    help: 'Room joins per second per connection, over time (token bucket; rate_limited above)',
  },
  joinBurst: {
    type: 'int',
    default: 100,
    min: 1,
    max: 1_000_000,
    group: 'Limits',
    help: 'Room join burst per connection (enough to rejoin every room after a reconnect)',
  },
  joinRatePerIp: {
    type: 'number',
    default: 100,
    min: 0.01,
    max: 1_000_000,
    group: 'Limits',
    help: 'Room joins per second from one client IP, all its connections together',
  },
  joinBurstPerIp: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 10_000_000,
    group: 'Limits',
    help: 'Room join burst from one client IP',
  },
  publishRate: {
    type: 'number',
    default: 10,
    min: 0.01,
    max: 1_000_000,
    group: 'Limits',
    help: 'Publishes per second per connection (token bucket; rate_limited above)',
  },
  publishBurst: {
    type: 'int',
    default: 20,
    min: 1,
    max: 1_000_000,
    group: 'Limits',
    help: 'Publish burst per connection',
  },
  commandRate: {
    type: 'number',
    default: 100,
    min: 1,
    max: 1_000_000,
    group: 'Limits',
    help: 'Commands of any kind per second per connection',
  },
  commandBurst: {
    type: 'int',
    default: 200,
    min: 1,
    max: 1_000_000,
    group: 'Limits',
    help: 'Command burst per connection',
  },
  sendSoftLimitBytes: {
    type: 'int',
    default: 256 * KiB,
    min: 1 * KiB,
    max: 1024 * MiB,
    group: 'Limits',
    help: 'Queued bytes over which lossy messages are skipped for a connection',
  },
  sendHardLimitBytes: {
    type: 'int',
    default: 1 * MiB,
    min: 2 * KiB,
    max: 1024 * MiB,
    group: 'Limits',
    help: 'Queued bytes over which a connection is closed with 4008',
  },
  sendStallTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 0,
    max: 600_000,
    group: 'Limits',
    help: 'A connection whose send queue holds bytes and drains none for this long is closed with 4008, in every kind of room (a slow reader that drains some is kept); 0: never, ms',
  },
  headersTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 500,
    max: 600_000,
    group: 'Limits',
    help: 'Time a client has to send a request or upgrade head, ms (slowloris); checked every quarter of it',
  },
  maxTokenLength: {
    type: 'int',
    default: 8192,
    min: 256,
    max: 1 * MiB,
    group: 'Limits',
    help: 'Longest token a client may send in an auth command, characters',
  },
  maxAuthEvents: {
    type: 'int',
    default: 32,
    min: 1,
    max: 1024,
    group: 'Limits',
    help: 'Most push event names one auth command may subscribe to',
  },
  closeGraceMs: {
    type: 'int',
    default: 2000,
    min: 100,
    max: 60_000,
    group: 'Limits',
    help: 'Time a closing WebSocket has to finish the close handshake before its socket is destroyed, ms',
  },
  retryAfterSec: {
    type: 'int',
    default: 5,
    min: 1,
    max: 3600,
    group: 'Limits',
    help: 'Retry-After of a handshake refused with 503 (server full, shutting down) or 429 (per-IP cap), seconds',
  },
  maxBodyBytes: {
    type: 'int',
    default: 64 * KiB,
    min: 256,
    max: 16 * MiB,
    group: 'Limits',
    help: 'Largest HTTP API request body, bytes (413 above)',
  },
  roomPolicies: {
    type: 'list',
    default: ['live:*=50/lossy', CATCH_ALL_ROOM_POLICY],
    group: 'Rooms and history',
    help: `Delivery per room pattern: PATTERN=MAX_MERGE_WINDOW_MS[/lossy|reliable][/adaptive|fixed], first match wins. The window adapts to the room's deliveries a second, members x messages (0 while under 20000) unless fixed; a room no rule matches gets ${CATCH_ALL_ROOM_POLICY} (end with *=0 to send other rooms at once)`,
  },
  renderBudget: {
    type: 'int',
    default: 0,
    min: 0,
    max: 100_000,
    group: 'Rooms and history',
    help: 'Messages a second a client is sampled to (fairly, paid and system kept) when it declares no budget on join; 0: no limit',
  },
  historySize: {
    type: 'int',
    default: 200,
    min: 0,
    max: 100_000,
    group: 'Rooms and history',
    help: 'Messages kept per room for recovery and history',
  },
  historyTtlMs: {
    type: 'int',
    default: 300_000,
    min: 1000,
    max: 7 * 86_400_000,
    group: 'Rooms and history',
    help: 'How long a message stays in history, ms',
  },
  presenceIntervalMs: {
    type: 'int',
    default: 1000,
    min: 50,
    max: 60_000,
    group: 'Rooms and history',
    help: 'How often online counts are shared and presence sent, ms; with Redis, a node that stops sharing has its counts expire after 3 intervals plus 1 s',
  },
  store: {
    type: 'enum',
    default: 'auto',
    values: ['auto', 'embedded', 'postgres', 'none'],
    group: 'Storage',
    help: 'Durable store of timeline and stored rooms (docs/storage.md): embedded (SQLite in --data-dir), postgres (--database-url) or none; auto is postgres when --database-url is set, embedded on a single node without Redis, none otherwise',
  },
  databaseUrl: {
    type: 'string',
    default: '',
    secret: true,
    group: 'Storage',
    help: 'PostgreSQL URL (postgres://user:password@host:port/db) of the postgres store',
  },
  dataDir: {
    type: 'string',
    default: './data',
    group: 'Storage',
    help: 'Directory of the embedded store (one Barrage process per directory)',
  },
  timelineRooms: {
    type: 'list',
    default: ['vod:*'],
    group: 'Storage',
    help: 'Room patterns whose comments live on a media timeline: publishes carry t (media ms) and are stored (docs/timeline.md)',
  },
  storedRooms: {
    type: 'list',
    default: [],
    group: 'Storage',
    help: 'Room patterns whose chat messages are all stored, for "load earlier" (join before, GET /api/rooms/:room/messages)',
  },
  timelineDensity: {
    type: 'int',
    default: 30,
    min: 1,
    max: 10_000,
    group: 'Storage',
    help: 'Most comments per second of media time in a viewer segment (paid and system always kept)',
  },
  timelineSegmentMs: {
    type: 'int',
    default: 360_000,
    min: 10_000,
    max: 3_600_000,
    group: 'Storage',
    help: 'Length of a viewer segment of the timeline, ms (segment N covers [N*len, (N+1)*len))',
  },
  timelineCacheBytes: {
    type: 'int',
    default: 64 * 1024 * 1024,
    min: 0,
    max: 4 * 1024 * 1024 * 1024,
    group: 'Storage',
    help: "Bytes of rendered viewer segments this node keeps in memory (least recently used out, each at most the segments' max-age; 0 turns the cache off)",
  },
  storeQueueSize: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    group: 'Storage',
    help: 'Stored publishes waiting for a commit, at most; above it publishes to stored rooms are refused with unavailable',
  },
  storeFlushMs: {
    type: 'int',
    default: 20,
    min: 1,
    max: 1000,
    group: 'Storage',
    help: 'Longest wait before a batch of stored publishes is committed, ms (publishes are acknowledged after the commit)',
  },
  storeRetentionDays: {
    type: 'int',
    default: 0,
    min: 0,
    max: 36_500,
    group: 'Storage',
    help: 'Stored messages older than this many days are deleted in batches; 0 keeps them',
  },
  alertInboxSize: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 100_000,
    group: 'Storage',
    help: 'Alerts (stored pushes) kept per user; past it the oldest read ones, then the oldest unread ones are removed (docs/alerts.md)',
  },
  redisUrl: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'Redis URL (redis://host:port/db): nodes form a cluster over it',
  },
  redisCluster: {
    type: 'list',
    default: [],
    group: 'Cluster',
    help: 'Redis Cluster seed nodes host:port,...: sharded pub/sub',
  },
  redisSentinels: {
    type: 'list',
    default: [],
    group: 'Cluster',
    help: 'Redis Sentinel addresses host:port,...: follow the primary they name (with --redis-master-name) through failovers',
  },
  redisMasterName: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'Name of the primary the Sentinels watch (sentinel monitor NAME ...)',
  },
  redisCommandTimeoutMs: {
    type: 'int',
    default: 1000,
    min: 50,
    max: 60_000,
    group: 'Cluster',
    help: 'A Redis command not answered within this is refused as unavailable (a hung or unreachable Redis), ms',
  },
  redisPrefix: {
    type: 'string',
    default: 'barrage',
    group: 'Cluster',
    help: 'Prefix of every Redis key and channel',
  },
  nodeId: {
    type: 'string',
    default: '',
    group: 'Cluster',
    help: 'This node id (default: host name, pid and a random suffix)',
  },
  workers: {
    type: 'string',
    default: '1',
    group: 'Cluster',
    help: 'Node processes on this machine sharing the port: a number, or auto for one per core; more than 1 needs Redis',
  },
  logLevel: {
    type: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    group: 'Operations',
    help: 'Log level',
  },
  logFormat: {
    type: 'enum',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    group: 'Operations',
    help: 'Log lines: json (one object a line, for a collector) or pretty (for a person); auto is pretty when stdout is a terminal, json otherwise',
  },
  web: {
    type: 'bool',
    default: true,
    group: 'Operations',
    help: 'Serve the demo page at / and the dashboard at /dashboard',
  },
  shutdownTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 100,
    max: 600_000,
    group: 'Operations',
    help: 'Longest graceful shutdown before exit, ms',
  },
} as const satisfies Record<string, OptionSpec>;

/** An option's name (camelCase). */
export type OptionKey = keyof typeof OPTIONS;

type ValueOf<S extends OptionSpec> = S['type'] extends 'bool'
  ? boolean
  : S['type'] extends 'int' | 'number'
    ? number
    : S['type'] extends 'list'
      ? readonly string[]
      : S extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

/** The validated, frozen configuration: one field per option. */
export type ServerConfig = { readonly [K in OptionKey]: ValueOf<(typeof OPTIONS)[K]> };

/** A log level (`logLevel`). */
export type LogLevel = ServerConfig['logLevel'];

/** A log format (`logFormat`). */
export type LogFormat = ServerConfig['logFormat'];

/** `--kebab-case` flag name of an option. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `BARRAGE_SNAKE_CASE` env var of an option. */
export function envOf(key: string): string {
  return `BARRAGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
