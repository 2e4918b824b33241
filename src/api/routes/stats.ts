import type { Hono } from 'hono';
import type { ClusterReport } from '../../node/index.js';

/**
 * `GET /api/stats` → `{nodes: [...], totals}`: the cluster's reports as the node's stats module
 * assembles them (src/node/stats.ts); cumulative counters, rates are differences.
 */
export function statsRoute(app: Hono, stats: () => Promise<ClusterReport>): void {
  app.get('/api/stats', async (c) => c.json(await stats()));
}
