import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { jsonObject, requiredString } from '../body.js';

/**
 * `POST /api/push {userId, event, data}` → `{delivered}`: every connection of the user that takes
 * the event, cluster-wide. `message` is accepted for `data` (the seed push service's field name).
 */
export function pushRoute(app: Hono, node: Node): void {
  app.post('/api/push', async (c) => {
    const body = await jsonObject(c);
    const userId = requiredString(body, 'userId');
    const event = requiredString(body, 'event');
    const data = 'data' in body ? body.data : body.message;
    const delivered = await node.push(userId, event, data);
    return c.json({ delivered });
  });
}
