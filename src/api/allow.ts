import { TrieRouter } from 'hono/router/trie-router';
import type { RouterRoute } from 'hono/types';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The exact paths a wildcard route serves. Some routes are registered as `/api/rooms/*` and split
 * the path themselves (room names may hold `/`, and Hono's router would let another route's regex
 * win); for the Allow header they declare what they really answer, so a DELETE wildcard does not
 * make every room path a DELETE path.
 */
export interface RouteShape {
  method: string;
  /** The wildcard the route is registered under. */
  wildcard: string;
  /** Router patterns of the paths it answers. */
  paths: readonly string[];
}

/**
 * Builds the lookup behind 405 answers from the routes the app registered (their method and path
 * pattern, matched by the same kind of router), so no second list of paths has to be kept.
 * Wildcard routes that have a shape count with their shape's paths. Returns the methods a path is
 * served with, `[]` for a path no route has.
 */
export function allowedMethods(
  routes: readonly RouterRoute[],
  shapes: readonly RouteShape[] = [],
): (path: string) => string[] {
  const router = new TrieRouter<string>();
  for (const r of routes) {
    // Middleware (ALL) is not a route; the static catch-all would make every path a GET path.
    if (r.method === 'ALL' || r.path === '/*') continue;
    const shaped = shapes.filter((s) => s.method === r.method && s.wildcard === r.path);
    if (shaped.length === 0) router.add(r.method, r.path, r.method);
    for (const s of shaped) for (const p of s.paths) router.add(r.method, p, r.method);
  }
  return (path) => METHODS.filter((m) => router.match(m, path)[0].length > 0);
}
