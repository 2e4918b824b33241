import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono, type Next } from 'hono';
import { every } from 'hono/combine';
import { secureHeaders } from 'hono/secure-headers';
import type { ClientIpResolver } from '../auth/index.js';
import { type Logger, silentLogger } from '../log.js';
import type { ClusterReport, Node } from '../node/index.js';
import { WS_PATH } from '../protocol/index.js';
import { allowedMethods } from './allow.js';
import { lengthLimit } from './body-limit.js';
import {
  crossSiteGuard,
  crossSiteRefusal,
  publicReadCors,
  requireJson,
  sameOrigin,
} from './cross-site.js';
import { createErrorHandler, errorResponse } from './errors.js';
import { createFastPath } from './fast-path.js';
import { type ApiRequestInfo, createApiGuard, type GuardedRequest } from './guard.js';
import { PAGE_HEADERS } from './page-headers.js';
import { AnswerHeaders } from './raw-http.js';
import { requestId } from './request-id.js';
import { alertsRoute } from './routes/alerts.js';
import { broadcastRoute } from './routes/broadcast.js';
import { dplayerRoutes } from './routes/dplayer.js';
import { type Health, healthRoute } from './routes/health.js';
import { MESSAGES_SHAPES, messagesRoute } from './routes/messages.js';
import { metricsRoute } from './routes/metrics.js';
import { moderationRoute } from './routes/moderation.js';
import { publishCall, publishRoute } from './routes/publish.js';
import { pushCall, pushRoute } from './routes/push.js';
import { roomsRoute } from './routes/rooms.js';
import { statsRoute } from './routes/stats.js';
import { TIMELINE_SHAPES, type TimelineOptions, timelineRoutes } from './routes/timeline.js';
import { readJsonObject } from './validate.js';

export type { ApiRequestInfo } from './guard.js';

/** Everything the HTTP API needs; all of it is supplied by the server's composition root. */
export interface ApiOptions {
  node: Node;
  /** Bearer key for `/api/*` (and `/metrics` unless public); null: loopback callers only. */
  apiKey: string | null;
  /** Host names answered when there is no `apiKey` (DNS-rebinding defence); 127.x literals always are. */
  apiHosts: readonly string[];
  /** Where unexpected errors are logged (with the request id); silent when absent. */
  log?: Logger;
  /** The client address of a request (trusted proxies' headers). @default the TCP peer */
  clientIp?: ClientIpResolver;
  /** Serve `/metrics` without the key. */
  metricsPublic: boolean;
  /** Largest request body, bytes (413 above). */
  maxBodyBytes: number;
  /** Extra check of API calls after the key (the seed push service's PushAuth). */
  authorizeApi?: (request: ApiRequestInfo) => boolean | Promise<boolean>;
  exposition(): Promise<{ contentType: string; body: string }>;
  /** The `/api/stats` answer (the node's StatsReporter). */
  stats(): Promise<ClusterReport>;
  health(): Health;
  /** Folder of the static pages (demo, dashboard), or null to serve none. */
  webRoot: string | null;
  /** Folder of the compiled browser SDK, or null. */
  sdkRoot: string | null;
  /** Viewer segments of timeline rooms. @default 6-minute segments, 30 comments a second */
  timeline?: TimelineOptions;
  /**
   * Pages of other origins that may read segments and DPlayer's GET (the `origins` option, as the
   * gateways check it); `any` when it allows every origin. @default same origin only
   */
  readOrigins?: {
    allowed(origin: string | undefined, host: string | undefined): boolean;
    any: boolean;
  };
  /**
   * Serve the hot calls on the fast path (fast-path.ts). Off only to compare it with the router
   * (tests, benchmarks). @default true
   */
  fastPath?: boolean;
}

/** Builds the HTTP app: API routes, `/metrics`, health, and the static pages. */
export function createApiApp(options: ApiOptions): Hono {
  const app = new Hono();
  useAnswerHeaders(app);
  const crossSite = crossSiteGuard(options.apiKey ? null : options.apiHosts);
  const guard = apiGuard(options);
  for (const path of options.metricsPublic ? ['/api/*'] : ['/api/*', '/metrics']) {
    app.use(path, crossSite, guard);
  }
  // Every POST body: declared JSON (415), within the size limit (413), a JSON object (400).
  const tooLarge = (c: Context) =>
    errorResponse(c, 'too_large', `body over ${options.maxBodyBytes} bytes`);
  const postBody = every(requireJson, lengthLimit(options.maxBodyBytes, tooLarge), readJsonObject);
  app.use('/dplayer/*', lengthLimit(options.maxBodyBytes, tooLarge));
  app.use('/api/*', (c, next) => (c.req.method === 'POST' ? postBody(c, next) : next()));
  const reads = options.readOrigins ?? { allowed: sameOrigin, any: false };
  const readCors = publicReadCors((o, h) => reads.allowed(o, h), reads.any);
  app.use('/timeline/*', readCors);
  app.use('/dplayer/*', readCors);
  const first = app.routes.length;
  publishRoute(app, options.node);
  pushRoute(app, options.node);
  alertsRoute(app, options.node);
  broadcastRoute(app, options.node);
  moderationRoute(app, options.node);
  // Before roomsRoute: its /api/rooms/:room{.+} would take these paths.
  timelineRoutes(app, options.node, options.timeline ?? { segmentMs: 360_000, density: 30 });
  messagesRoute(app, options.node);
  dplayerRoutes(app, options.node, options.log ?? silentLogger);
  roomsRoute(app, options.node);
  statsRoute(app, options.stats);
  metricsRoute(app, options.exposition);
  healthRoute(app, options.health, options.log ?? silentLogger);
  app.get(WS_PATH, (c) =>
    c.text('WebSocket endpoint: connect with an Upgrade request\n', 426, { Upgrade: 'websocket' }),
  );
  if (options.webRoot) serveWeb(app, options.webRoot, options.sdkRoot);
  const allow = allowedMethods(app.routes.slice(first), [...TIMELINE_SHAPES, ...MESSAGES_SHAPES]);
  app.notFound((c) => {
    const methods = allow(c.req.path);
    if (methods.length === 0 || methods.includes(c.req.method)) {
      return errorResponse(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
    }
    c.header('Allow', methods.join(', '));
    return errorResponse(c, 'method_not_allowed', `use ${methods.join(' or ')}`);
  });
  app.onError(createErrorHandler(options.log ?? silentLogger));
  return app;
}

/**
 * The API as a `node:http` request listener: the hot calls (`POST /api/push`, `/api/publish`) on
 * the fast path (fast-path.ts), everything else through the router. Async: the fast path's
 * headers are read from a probe of the router's middleware first.
 */
export async function createApiListener(
  options: ApiOptions,
): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const listener = getRequestListener(createApiApp(options).fetch);
  const router = (req: IncomingMessage, res: ServerResponse) => void listener(req, res);
  if (options.fastPath === false) return router;
  const fast = createFastPath({
    node: options.node,
    calls: [pushCall, publishCall],
    crossSite: crossSiteRefusal(options.apiKey ? null : options.apiHosts),
    guard: createApiGuard(options),
    maxBodyBytes: options.maxBodyBytes,
    headers: await answerHeaders(),
    log: options.log ?? silentLogger,
  });
  return (req, res) => {
    if (!fast(req, res)) router(req, res);
  };
}

/** The middleware whose headers every answer carries: the request id and the page headers. */
function useAnswerHeaders(app: Hono): void {
  app.use(requestId);
  app.use(secureHeaders(PAGE_HEADERS));
}

/**
 * The headers of a JSON answer of the router, read from a probe app with the same middleware, so
 * the fast path writes what the router would (`x-request-id` filled per answer).
 */
async function answerHeaders(): Promise<AnswerHeaders> {
  const probe = new Hono();
  useAnswerHeaders(probe);
  probe.get('/', (c) => c.json({}));
  const res = await probe.request('/');
  const headers: [string, string][] = [];
  res.headers.forEach((value, name) => {
    if (name !== 'content-length') headers.push([name, value]);
  });
  return new AnswerHeaders(headers);
}

function apiGuard(options: ApiOptions) {
  const guard = createApiGuard(options);
  return async (c: Context, next: Next) => {
    const request: GuardedRequest = {
      method: c.req.method,
      path: c.req.path,
      peer: remoteAddress(c),
      header: (name) => c.req.header(name),
      headers: () => c.req.header(),
    };
    const refusal = await guard(request);
    if (refusal) return errorResponse(c, refusal.code, refusal.message);
    await next();
  };
}

function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not behind @hono/node-server (in-process app.request() tests)
  }
}

function serveWeb(app: Hono, webRoot: string, sdkRoot: string | null): void {
  app.get('/', serveStatic({ root: webRoot, path: 'index.html' }));
  app.get('/dashboard', serveStatic({ root: webRoot, path: 'dashboard.html' }));
  app.get('/vod', serveStatic({ root: webRoot, path: 'vod.html' }));
  app.get(
    '/web/*',
    serveStatic({ root: webRoot, rewriteRequestPath: (p) => p.slice('/web'.length) }),
  );
  if (sdkRoot)
    app.get(
      '/sdk/*',
      serveStatic({ root: sdkRoot, rewriteRequestPath: (p) => p.slice('/sdk'.length) }),
    );
  // Pages' own assets by relative path (e.g. /demo.js next to /index.html).
  app.get('/*', serveStatic({ root: webRoot }));
}
