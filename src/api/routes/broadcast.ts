import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { broadcastBody } from '../schemas.js';
import { jsonBody } from '../validate.js';

/** `POST /api/broadcast {event, data}` → `{delivered}`: every connection that takes the event. */
export function broadcastRoute(app: Hono, node: Node): void {
  app.post('/api/broadcast', jsonBody(broadcastBody), async (c) => {
    const { event, data } = c.req.valid('json');
    const delivered = await node.broadcast(event, data);
    return c.json({ delivered });
  });
}
