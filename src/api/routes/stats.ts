import type { Hono } from 'hono';
import type { NodeStats } from '../../node/index.js';

/** What `/api/stats` reports per node: the engine's stats plus process health. */
export type NodeReport = NodeStats & { eventLoopP99Ms: number; rssBytes: number };

/** `GET /api/stats` → `{nodes: [...], totals}`; cumulative counters, rates are differences. */
export function statsRoute(app: Hono, nodes: () => Promise<NodeReport[]>): void {
  app.get('/api/stats', async (c) => {
    const reports = await nodes();
    const totals = { connections: 0, rooms: 0, messagesIn: 0, messagesOut: 0, framesOut: 0 };
    for (const r of reports) {
      totals.connections += r.connections;
      totals.rooms += r.rooms;
      totals.messagesIn += r.messagesIn;
      totals.messagesOut += r.messagesOut;
      totals.framesOut += r.framesOut;
    }
    return c.json({ nodes: reports, totals });
  });
}
