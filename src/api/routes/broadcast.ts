import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { jsonObject, requiredString } from '../body.js';

/** `POST /api/broadcast {event, data}` → `{delivered}`: every connection that takes the event. */
export function broadcastRoute(app: Hono, node: Node): void {
  app.post('/api/broadcast', async (c) => {
    const body = await jsonObject(c);
    const event = requiredString(body, 'event');
    const delivered = await node.broadcast(event, body.data);
    return c.json({ delivered });
  });
}
