import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { pushBody } from '../schemas.js';
import { jsonBody } from '../validate.js';

/**
 * `POST /api/push {userId, event, data}` → `{delivered}`: every connection of the user that takes
 * the event, cluster-wide. `message` is accepted for `data` (the seed push service's field name).
 */
export function pushRoute(app: Hono, node: Node): void {
  app.post('/api/push', jsonBody(pushBody), async (c) => {
    const body = c.req.valid('json');
    const data = body.data !== undefined ? body.data : body.message;
    const delivered = await node.push(body.userId, body.event, data);
    return c.json({ delivered });
  });
}
