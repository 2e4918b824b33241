/**
 * The tables of docs/http-api.md that mirror code: the routes (a test compares them with the
 * routes the app registers), each request's fields (from the zod schemas) and the error statuses
 * (from `STATUS_OF`). `renderHttpApiDoc` rewrites the generated blocks of the file; regenerate
 * with `npx tsx scripts/http-api-doc.ts`.
 */
import { z } from 'zod';
import { type HttpErrorCode, STATUS_OF } from './errors.js';
import {
  broadcastBody,
  inboxQuery,
  kickBody,
  liftBody,
  moderationQuery,
  publishBody,
  pushBody,
  readBody,
  roomsQuery,
  ruleBody,
  slowModeBody,
} from './schemas.js';

/**
 * One route as the docs describe it. `path` is the pattern the app registers; `shown` the path
 * the docs give when the pattern is a wildcard whose handler picks its paths itself.
 */
export interface RouteDoc {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  shown?: string;
  /** What the route takes, for a route whose input has no schema here. */
  takes?: string;
  body?: z.ZodObject;
  query?: z.ZodObject;
  answer: string;
}

const rule = (action: string): RouteDoc => ({
  method: 'POST',
  path: `/api/moderation/${action}`,
  body: ruleBody,
  answer: '`{"rule"}`',
});
const lift = (action: string): RouteDoc => ({
  method: 'POST',
  path: `/api/moderation/${action}`,
  body: liftBody,
  answer: '`{"lifted"}`',
});

/** Every route of the app, in the order of the docs. */
export const ROUTE_DOCS: readonly RouteDoc[] = [
  { method: 'POST', path: '/api/publish', body: publishBody, answer: '`{"offset","epoch"}`' },
  {
    method: 'POST',
    path: '/api/push',
    body: pushBody,
    answer: '`{"delivered"}`; with `persist`: `{"delivered","alert","stored","duplicate"?}`',
  },
  {
    method: 'GET',
    path: '/api/users/:user/alerts',
    query: inboxQuery,
    answer:
      '`{"userId","unread","alerts","dropped"}`: the user\'s alert inbox ([alerts.md](alerts.md))',
  },
  {
    method: 'POST',
    path: '/api/users/:user/alerts/read',
    body: readBody,
    answer: '`{"userId","read"}`',
  },
  {
    method: 'DELETE',
    path: '/api/users/:user/alerts/:alert',
    answer: '`{"userId","alert","deleted"}`',
  },
  { method: 'POST', path: '/api/broadcast', body: broadcastBody, answer: '`{"delivered"}`' },
  { method: 'GET', path: '/api/rooms', query: roomsQuery, answer: '`{"sort","rooms":[...]}`' },
  { method: 'GET', path: '/api/rooms/:room{.+}', answer: '`{"room","online","offset","epoch"}`' },
  {
    method: 'GET',
    path: '/api/rooms/*',
    shown: '/api/rooms/:room/messages',
    answer:
      '`{"room","messages","next"}`: a stored room\'s earlier messages ([storage.md](storage.md))',
  },
  {
    method: 'GET',
    path: '/api/rooms/*',
    shown: '/api/rooms/:room/timeline',
    takes: 'query `from?, to?, limit?, after?`',
    answer: '`{"room","from","to","comments","next"}` ([timeline.md](timeline.md))',
  },
  {
    method: 'DELETE',
    path: '/api/rooms/*',
    shown: '/api/rooms/:room/timeline/:id',
    answer: '`{"room","id","deleted"}`: removes one stored comment',
  },
  {
    method: 'GET',
    path: '/timeline/*',
    shown: '/timeline/:room/:segment',
    answer: '`{"room","segment","from","to","comments"}`, `ETag`, `Cache-Control`',
  },
  ...(['GET', 'POST'] as const).flatMap((method) =>
    ['/dplayer/v3', '/dplayer/v3/'].map(
      (path): RouteDoc => ({
        method,
        path,
        takes: method === 'GET' ? 'query `id, max?`' : "DPlayer's body",
        answer: '`{"code":0,"data":...}` ([timeline.md](timeline.md))',
      }),
    ),
  ),
  ...['mute', 'ban', 'shadowban'].map(rule),
  ...['unmute', 'unban', 'unshadowban'].map(lift),
  {
    method: 'POST',
    path: '/api/moderation/kick',
    body: kickBody,
    answer: '`{"userId","bannedUntil"}`',
  },
  {
    method: 'POST',
    path: '/api/rooms/:room{.+}/slowmode',
    body: slowModeBody,
    answer: '`{"room","intervalMs"}`',
  },
  {
    method: 'GET',
    path: '/api/moderation',
    query: moderationQuery,
    answer: '`{"userId","rules"}` and/or `{"room","slowModeMs"}`',
  },
  { method: 'GET', path: '/api/stats', answer: '`{"nodes":[...],"totals":{...}}`' },
  { method: 'GET', path: '/metrics', answer: 'Prometheus text' },
  { method: 'GET', path: '/healthz', answer: '`{"status","ok","broker","store"?,"shuttingDown"}`' },
  { method: 'GET', path: '/readyz', answer: 'the same as `/healthz`' },
  { method: 'GET', path: '/ws', answer: '`426` text (without an Upgrade)' },
  { method: 'GET', path: '/', answer: '`web/index.html` (the demo)' },
  { method: 'GET', path: '/dashboard', answer: '`web/dashboard.html`' },
  {
    method: 'GET',
    path: '/vod',
    answer: '`web/vod.html`: danmaku on a video timeline ([timeline.md](timeline.md))',
  },
  { method: 'GET', path: '/web/*', answer: 'files under `web/`' },
  { method: 'GET', path: '/sdk/*', answer: 'the compiled browser SDK (`dist/client/`)' },
  { method: 'GET', path: '/*', answer: 'any other file under `web/`' },
];

/** When each error code is answered (the "when" column of the errors table). */
const WHEN: Record<HttpErrorCode, string> = {
  bad_request:
    'the body is not JSON (`body must be JSON`) or not an object (`body must be a JSON object`); a field or query parameter breaks its rule (the message names it: `"room" must be a string`, `"data" is required`, `"limit" must be an integer from 1 to 1000 ...`; see the tables of each request); an `onPublish` hook rejected with `bad_request`',
  unauthorized: 'see Authentication',
  forbidden:
    'a cross-site browser request (see Browsers and other sites); `authorizeApi` returned false; an `onPublish` hook rejected with `forbidden`',
  not_found: 'no route (`no route for GET /x`)',
  method_not_allowed:
    'a known path with another method (`use POST`); the `Allow` header lists the methods its routes have',
  too_large: 'body over `maxBodyBytes` (65536): `body over 65536 bytes`',
  unsupported_media_type:
    'a POST whose `Content-Type` is not `application/json` (or `application/*+json`)',
  rate_limited:
    'only when an `onPublish` hook rejects with `rate_limited`; the API has no rate limit of its own',
  internal:
    'a bug: the error is logged at `error` level with the request id, and the message gives only that id (`internal error (request id ...)`)',
  unavailable:
    'the broker cannot serve (Redis unreachable); a moderation call on a custom broker without a moderation store; a stored push or inbox call without a store (`no store configured (--store none): alerts need a store`) or while the store cannot serve; `/healthz` when not healthy',
};

/** A route's path as the docs show it: `/api/rooms/:room{.+}` → `/api/rooms/:room`. */
export function displayPath(route: RouteDoc): string {
  return route.shown ?? route.path.replace(/\{[^}]*\}/g, '');
}

function authOf(path: string): string {
  if (path.startsWith('/timeline/')) return 'a token that may join (none where anonymous may)';
  if (path.startsWith('/dplayer/')) return 'as a segment / as a publish';
  if (path.startsWith('/api/')) return 'key';
  if (path === '/metrics') return 'key, unless `metricsPublic`';
  return 'none';
}

function routesTable(): string[] {
  const rows = ROUTE_DOCS.map((r) => {
    const input = r.body
      ? `body ${fieldList(r.body)}`
      : r.query
        ? `query ${fieldList(r.query)}`
        : '';
    return `| \`${r.method} ${displayPath(r)}\` | ${authOf(r.path)} | ${input} | ${r.answer} |`;
  });
  return ['| method and path | auth | takes | answer |', '|---|---|---|---|', ...rows];
}

function fieldList(schema: z.ZodObject): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const required = new Set(json.required ?? []);
  const names = Object.entries(schema.shape)
    .filter(([, field]) => !metaOf(field)?.refused)
    .map(([k]) => (required.has(k) ? k : `${k}?`));
  return `\`${names.join(', ')}\``;
}

/** The field table of one request: name, whether it is required, and its rule. */
export function fieldsTable(schema: z.ZodObject): string[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const required = new Set(json.required ?? []);
  const rows = Object.entries(schema.shape).map(([name, field]) => {
    const meta = metaOf(field);
    const need = meta?.refused ? 'refused' : required.has(name) ? 'yes' : 'no';
    return `| \`${name}\` | ${need} | ${meta?.description ?? ''} |`;
  });
  return ['| field | required | rule |', '|---|---|---|', ...rows];
}

function metaOf(field: unknown): { description?: string; refused?: unknown } | undefined {
  return z.globalRegistry.get(field as z.ZodType);
}

function errorsTable(): string[] {
  const codes = (Object.keys(STATUS_OF) as HttpErrorCode[]).sort(
    (a, b) => STATUS_OF[a] - STATUS_OF[b],
  );
  const rows = codes.map((code) => `| ${STATUS_OF[code]} | \`${code}\` | ${WHEN[code]} |`);
  return ['| status | code | when |', '|---|---|---|', ...rows];
}

/** The content of a generated block, by its key (`routes`, `errors`, `fields POST /api/publish`). */
export function generatedBlock(key: string): string[] {
  if (key === 'routes') return routesTable();
  if (key === 'errors') return errorsTable();
  const match = /^fields (GET|POST|DELETE) (\S+)$/.exec(key);
  const route = ROUTE_DOCS.find(
    (r) => `${r.method} ${displayPath(r)}` === match?.slice(1).join(' '),
  );
  const schema = route?.body ?? route?.query;
  if (!schema) throw new Error(`docs/http-api.md: no generated block named "${key}"`);
  return fieldsTable(schema);
}

const BLOCK = /(<!-- generated: (.+?) -->\n)[\s\S]*?(<!-- end generated -->)/g;

/** docs/http-api.md with every `<!-- generated: KEY -->` block rewritten from the code. */
export function renderHttpApiDoc(doc: string): string {
  return doc.replace(
    BLOCK,
    (_, open: string, key: string, close: string) =>
      `${open}${generatedBlock(key).join('\n')}\n${close}`,
  );
}
