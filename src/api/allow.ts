import { TrieRouter } from 'hono/router/trie-router';
import type { RouterRoute } from 'hono/types';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Builds the lookup behind 405 answers from the routes the app registered (their method and path
 * pattern, matched by the same kind of router), so no second list of paths has to be kept.
 * Returns the methods a path is served with, `[]` for a path no route has.
 */
export function allowedMethods(routes: readonly RouterRoute[]): (path: string) => string[] {
  const router = new TrieRouter<string>();
  for (const r of routes) {
    // Middleware (ALL) is not a route; the static catch-all would make every path a GET path.
    if (r.method !== 'ALL' && r.path !== '/*') router.add(r.method, r.path, r.method);
  }
  return (path) => METHODS.filter((m) => router.match(m, path)[0].length > 0);
}
