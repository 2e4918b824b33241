import type { Context, Next } from 'hono';
import { cors } from 'hono/cors';
import { errorResponse } from './errors.js';

/** Host names a node without an API key answers by default (DNS-rebinding defence). */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

/** A 127.0.0.0/8 address literal: a name no DNS answer can rebind. */
const LOOPBACK_IPV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Refuses what a web page on another site can make a browser send to the API (403 `forbidden`):
 * a `Sec-Fetch-Site` other than `same-origin` or `none` (typed or bookmarked), and an `Origin`
 * whose host is not the request's `Host`. Server-side callers send neither header.
 *
 * With `hosts` (a node without an API key), the `Host` header's name must be one of them too:
 * a DNS-rebound name (attacker.example resolving to 127.0.0.1) reaches a loopback-only API from
 * the attacker's page as "same-origin", and only the Host it asked for gives it away.
 */
export function crossSiteGuard(hosts: readonly string[] | null) {
  const refusal = crossSiteRefusal(hosts);
  return async (c: Context, next: Next): Promise<Response | undefined> => {
    const why = refusal((name) => c.req.header(name));
    if (why !== null) return errorResponse(c, 'forbidden', why);
    await next();
  };
}

/** Reads a request header by lower-case name: every value of the name, joined with `, `. */
export type HeaderOf = (name: string) => string | undefined;

/**
 * The check behind `crossSiteGuard`, without the framework: why a request is refused (the
 * `forbidden` message), or null. The fast path (fast-path.ts) runs the same function.
 */
export function crossSiteRefusal(
  hosts: readonly string[] | null,
): (header: HeaderOf) => string | null {
  // A configured `name:port` counts as `name`: the port is the listener's business, not the name's.
  const allowed = hosts ? new Set(hosts.map((h) => hostName(h.trim().toLowerCase()))) : null;
  return (header) => {
    const site = header('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return `cross-site request refused (Sec-Fetch-Site: ${site})`;
    }
    const host = header('host')?.toLowerCase();
    const origin = header('origin');
    if (origin !== undefined && originHost(origin) !== host) {
      return 'cross-origin request refused (Origin is not this server)';
    }
    const name = hostName(host ?? '');
    if (allowed && !allowed.has(name) && !LOOPBACK_IPV4.test(name)) {
      return 'no API key configured: only loopback Host names are answered (see the apiHosts option)';
    }
    return null;
  };
}

/**
 * Refuses a POST whose body is not declared JSON with 415: a `text/plain` body is what a no-cors
 * `fetch` or a form on another site can send without a preflight.
 */
export async function requireJson(c: Context, next: Next): Promise<Response | undefined> {
  const why = mediaTypeRefusal(c.req.header('content-type'));
  if (why !== null) return errorResponse(c, 'unsupported_media_type', why);
  await next();
}

/** Why a POST's `Content-Type` is refused (the 415 message), or null for JSON. */
export function mediaTypeRefusal(contentType: string | undefined): string | null {
  if (contentType === 'application/json') return null; // what nearly every call sends
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (/^application\/([\w.-]+\+)?json$/.test(type)) return null;
  return `Content-Type must be application/json (got ${type || 'none'})`;
}

function originHost(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : null;
  } catch {
    return null; // "null" (sandboxed pages, file:) and garbage are foreign
  }
}

/** The name part of a Host header: `[::1]:8080` → `[::1]`, `localhost:80` → `localhost`. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * CORS for the public reads a player on another site makes: viewer segments
 * (`GET /timeline/...`) and DPlayer's `GET /dplayer/v3/`. The same Origin rule as the WebSocket
 * and SSE gateways (the `origins` option, given as `originAllowed`): an allowed page gets
 * `Access-Control-Allow-Origin` through hono's `cors` (`*` when every origin is allowed, so a
 * CDN keeps one copy; otherwise the origin, with `Vary: Origin`) and may read `ETag`; another
 * page is refused 403, as the API refuses cross-site calls. A preflight (a Bearer token makes
 * one) is answered for GET with the `authorization` header. Writes (DPlayer's POST) get no CORS:
 * a page on another site must not post through its visitors' browsers.
 */
export function publicReadCors(
  originAllowed: (origin: string | undefined, host: string | undefined) => boolean,
  anyOrigin: boolean,
) {
  const headers = cors({
    origin: anyOrigin ? '*' : (origin) => origin,
    allowMethods: ['GET'],
    allowHeaders: ['authorization'],
    exposeHeaders: ['ETag'],
    maxAge: 600,
  });
  return async (c: Context, next: Next): Promise<Response | undefined> => {
    const origin = c.req.header('origin');
    if (origin === undefined || c.req.method === 'POST') {
      await next();
      return;
    }
    if (!originAllowed(origin, c.req.header('host'))) {
      return errorResponse(c, 'forbidden', 'cross-origin read refused (see the origins option)');
    }
    return (await headers(c, next)) ?? undefined;
  };
}

/** Whether an Origin is the server's own (its host is the request's `Host`). */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  return origin === undefined || originHost(origin) === host?.toLowerCase();
}
