import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ApiRequestInfo, createApiListener } from '../api/index.js';
import { createClientIpResolver, createJwtVerifier, readPublicKeyFile } from '../auth/index.js';
import { MemoryBroker } from '../broker/memory/broker.js';
import type { Broker } from '../broker/types.js';
import {
  connectionsCheckingIntervalMs,
  MAX_JOIN_HISTORY,
  parseRoomPolicies,
  presenceTtlMs,
  type RawOptions,
  requestTimeoutMs,
  resolveConfig,
  type ServerConfig,
} from '../config/index.js';
import { BarrageError } from '../errors.js';
import { ConnectionGate, createOriginCheck, SseGateway, WsGateway } from '../gateway/index.js';
import type { Logger } from '../log.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import { Node, type NodeHooks, StatsReporter } from '../node/index.js';
import { SSE_PATH, WS_PATH } from '../protocol/index.js';
import { hasInbox } from '../store/inbox.js';
import type { Archive, Store } from '../store/types.js';
import { createLogger } from './logger.js';
import { packageRoot } from './paths.js';
import { openArchive, pickStore } from './pick-store.js';
import { policyResolver } from './policies.js';
import { withRequestLog } from './request-log.js';

/** Of the shutdown timeout, what is kept for closing the broker after the clients, ms. */
const BROKER_CLOSE_RESERVE_MS = 500;
/** How often a shutdown checks whether every client has closed, ms. */
const CLOSE_POLL_MS = 20;

/** Hooks of an embedded server: the engine's, plus a check of HTTP API calls. */
export interface ServerHooks extends NodeHooks {
  /** Extra check of every API call after the API key (the seed push service's PushAuth). */
  authorizeApi?(request: ApiRequestInfo): boolean | Promise<boolean>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Options of `createServer`: every config option, plus what only code can give. */
export type CreateServerOptions = Partial<Mutable<ServerConfig>> & {
  /** A broker instance to use instead of the one the config picks. */
  broker?: Broker;
  /** A store instance (not yet started) to use instead of the one `store` picks. */
  storeBackend?: Store;
  /** Application hooks: authentication, authorization, message filters. */
  hooks?: ServerHooks;
  /** A logger instead of pino on stdout. */
  logger?: Logger;
};

/** A Barrage server: listen, close, and the engine for embedding. */
export interface BarrageServer {
  readonly config: ServerConfig;
  readonly node: Node;
  readonly http: Server;
  /** The bound port, after `listen`. */
  readonly port: number;
  /** `http://host:port`, after `listen`. */
  readonly url: string;
  listen(): Promise<void>;
  /** Graceful shutdown: stop accepting, close every client with 1001, release the broker. */
  close(): Promise<void>;
}

/**
 * The composition root: validates options, picks the broker, wires node, gateway and API onto one
 * HTTP server. The only place that chooses between the embedded broker and Redis.
 */
export async function createServer(options: CreateServerOptions = {}): Promise<BarrageServer> {
  const {
    broker: givenBroker,
    storeBackend: givenStore,
    hooks: givenHooks = {},
    logger: givenLogger,
    ...raw
  } = options;
  const config = resolveConfig({ overrides: raw as RawOptions });
  // Checked before anything is started: a bad CIDR fails here, naming the option.
  const clientIp = createClientIpResolver(config.trustProxy);
  const nodeId = config.nodeId || `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const log =
    givenLogger ??
    createLogger({ level: config.logLevel, format: config.logFormat, bindings: { nodeId } });
  const hooks: ServerHooks = { ...givenHooks };
  const jwtConfigured = Boolean(config.jwtSecret || config.jwtPublicKey || config.jwksUrl);
  if (!hooks.authenticate && jwtConfigured) {
    const verify = createJwtVerifier({
      secret: config.jwtSecret || undefined,
      publicKeyPem: config.jwtPublicKey ? readPublicKeyFile(config.jwtPublicKey) : undefined,
      jwks: config.jwksUrl
        ? {
            url: config.jwksUrl,
            cooldownMs: config.jwksCooldownMs,
            // Logged without the token; the provider's URL and the cause are what an operator needs.
            onError: (err) =>
              log.warn({ err: err.message, jwksUrl: config.jwksUrl }, 'JWKS fetch failed'),
          }
        : undefined,
      audience: config.jwtAudience || undefined,
      issuer: config.jwtIssuer || undefined,
    });
    hooks.authenticate = (token) => verify(token);
  }
  const anonymousPublish = config.allowAnonymousPublish || !hooks.authenticate;
  if (anonymousPublish && !config.allowAnonymousPublish) {
    log.warn(
      {},
      'no JWT secret, key or JWKS URL configured: anonymous clients may publish (dev mode)',
    );
  }
  if (!config.apiKey)
    log.warn({}, 'no API key configured: the HTTP API answers loopback callers only');

  const store = givenStore ?? (await pickStore(config));
  const archive: Archive | undefined = store ? await openArchive(config, store, log) : undefined;
  const broker = givenBroker ?? (await pickBroker(config, nodeId, log));
  // The node's stats (made once the node exists) feed /metrics and /api/stats.
  let stats: StatsReporter | null = null;
  const metrics = new PrometheusMetrics(() => stats!.snapshot(), { node: nodeId });
  const node = new Node(
    {
      nodeId,
      heartbeatMs: config.heartbeatMs,
      authTimeoutMs: config.requireAuth ? config.authTimeoutMs : null,
      allowAnonymousPublish: anonymousPublish,
      maxRoomsPerConnection: config.maxRoomsPerConnection,
      joinLimits: {
        joinRate: config.joinRate,
        joinBurst: config.joinBurst,
        joinRatePerIp: config.joinRatePerIp,
        joinBurstPerIp: config.joinBurstPerIp,
      },
      maxHistory: config.historySize,
      presenceIntervalMs: config.presenceIntervalMs,
      renderBudget: config.renderBudget,
      policyFor: policyResolver(parseRoomPolicies(config.roomPolicies)),
      parseLimits: {
        maxTokenLength: config.maxTokenLength,
        maxEvents: config.maxAuthEvents,
        maxHistory: MAX_JOIN_HISTORY,
      },
      maxFrameBytes: config.maxFrameBytes,
      sendSoftLimitBytes: config.sendSoftLimitBytes,
      sendHardLimitBytes: config.sendHardLimitBytes,
      sendStallTimeoutMs: config.sendStallTimeoutMs,
      publishRate: config.publishRate,
      publishBurst: config.publishBurst,
      commandRate: config.commandRate,
      commandBurst: config.commandBurst,
      blockedWords: config.blockedWords,
      blockedWordsAction: config.blockedWordsAction,
      hooks,
      archive,
      ...(store && hasInbox(store)
        ? { alerts: { inbox: store, perUser: config.alertInboxSize } }
        : {}),
    },
    broker,
    log,
    metrics,
  );
  await node.start();
  const engine = node;
  // With a broker that shares stats (Redis), any node answers /api/stats for the whole cluster.
  const reporter = new StatsReporter(engine, config.presenceIntervalMs);
  stats = reporter;
  reporter.start();
  // WebSocket and SSE connections count against the same caps and admission pace.
  const gate = new ConnectionGate({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    retryAfterSec: config.retryAfterSec,
    admissionRate: config.admissionRate,
    admissionBurst: config.admissionBurst,
  });
  const gateway = new WsGateway(
    engine,
    {
      path: WS_PATH,
      maxFrameBytes: config.maxFrameBytes,
      maxFragments: config.maxFragments,
      origins: config.origins,
      clientIp,
      closeGraceMs: config.closeGraceMs,
      reconnectDelayMs: config.reconnectDelayMs,
      compressMinBytes: config.wsCompressMinBytes,
    },
    log,
    gate,
  );
  metrics.watchCompression(() => gateway.frames.counters);
  const sse = new SseGateway(
    engine,
    gate,
    {
      path: SSE_PATH,
      origins: config.origins,
      maxRooms: config.maxRoomsPerConnection,
      maxHistory: MAX_JOIN_HISTORY,
      requireAuth: config.requireAuth,
      closeGraceMs: config.closeGraceMs,
      reconnectDelayMs: config.reconnectDelayMs,
      padBytes: config.ssePadBytes,
      maxBodyBytes: config.maxFrameBytes,
      publishRate: config.publishRate,
      publishBurst: config.publishBurst,
      commandRate: config.commandRate,
      commandBurst: config.commandBurst,
    },
    log,
  );
  let shuttingDown = false;
  const root = packageRoot();
  const apiListener = await createApiListener({
    node: engine,
    apiKey: config.apiKey || null,
    apiHosts: config.apiHosts,
    log,
    metricsPublic: config.metricsPublic,
    clientIp,
    maxBodyBytes: config.maxBodyBytes,
    authorizeApi: hooks.authorizeApi,
    exposition: () => metrics.exposition(),
    stats: () => reporter.clusterReport(),
    health: () => {
      const b = broker.health();
      const s = archive?.stats();
      const storeHealth = s ? { kind: s.kind, ok: s.ok, queueDepth: s.queueDepth } : undefined;
      // A store that is down does not make the node unready: live delivery goes on without it.
      return {
        ok: b.ok && !shuttingDown,
        broker: { kind: broker.kind, ...b },
        ...(storeHealth ? { store: storeHealth } : {}),
        shuttingDown,
      };
    },
    timeline: { segmentMs: config.timelineSegmentMs, density: config.timelineDensity },
    readOrigins: { allowed: createOriginCheck(config.origins), any: config.origins.includes('*') },
    webRoot: config.web ? join(root, 'web') : null,
    sdkRoot: config.web ? join(root, 'dist', 'client') : null,
  });
  const listener: RequestListener = (req, res) => {
    if (sse.handles(req)) sse.handle(req, res);
    else apiListener(req, res);
  };
  // Slowloris on the upgrade or an API call: node checks these timers every connectionsCheckingInterval.
  const http = createHttpServer(
    { connectionsCheckingInterval: connectionsCheckingIntervalMs(config) },
    withRequestLog(listener, log),
  );
  http.headersTimeout = config.headersTimeoutMs;
  http.requestTimeout = requestTimeoutMs(config);
  http.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Answer malformed requests as node would by default (400, or 431 for huge headers), then close.
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    if (socket.writable && !(err.code === 'ECONNRESET')) {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  let port = 0;
  let closing: Promise<void> | null = null;
  return {
    config,
    node: engine,
    http,
    get port() {
      return port;
    },
    get url() {
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}`;
    },
    listen: () =>
      new Promise<void>((resolve, reject) => {
        http.once('error', (err) =>
          reject(
            new BarrageError('BARRAGE_ERR_LISTEN', `${config.host}:${config.port}: ${err.message}`),
          ),
        );
        http.listen(config.port, config.host, () => {
          const address = http.address();
          port = typeof address === 'object' && address ? address.port : config.port;
          log.info(
            { url: `http://${config.host}:${port}`, broker: broker.kind },
            'barrage listening',
          );
          resolve();
        });
      }),
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        reporter.stop();
        gate.stopAccepting();
        http.close();
        await engine.shutdown(config.reconnectDelayMs);
        const deadline = Date.now() + config.shutdownTimeoutMs - BROKER_CLOSE_RESERVE_MS;
        while (gate.connections > 0 && Date.now() < deadline) await sleep(CLOSE_POLL_MS);
        http.closeAllConnections();
        await archive?.close();
        await broker.close();
        log.info({}, 'barrage stopped');
      })();
      return closing;
    },
  };
}

/**
 * The embedded broker unless Redis is configured. The Redis engine is loaded only then, so a
 * single node never loads ioredis.
 */
async function pickBroker(config: ServerConfig, nodeId: string, log: Logger): Promise<Broker> {
  const history = { historySize: config.historySize, historyTtlMs: config.historyTtlMs };
  const redis =
    config.redisUrl || config.redisCluster.length > 0 || config.redisSentinels.length > 0;
  if (!redis) return new MemoryBroker(history);
  const { createRedisBroker } = await import('../broker/redis/index.js');
  return createRedisBroker({
    ...history,
    url: config.redisUrl || undefined,
    cluster: config.redisCluster.length > 0 ? [...config.redisCluster] : undefined,
    sentinels: config.redisSentinels.length > 0 ? [...config.redisSentinels] : undefined,
    masterName: config.redisMasterName || undefined,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    prefix: config.redisPrefix,
    nodeId,
    presenceTtlMs: presenceTtlMs(config),
    log,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
