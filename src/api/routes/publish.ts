import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { publishBody } from '../schemas.js';
import { jsonBody } from '../validate.js';

/**
 * `POST /api/publish {room, data, priority?, t?}` → `{offset, epoch}`: the same delivery path as a
 * client publish; the backend may use any class, `system` included.
 */
export function publishRoute(app: Hono, node: Node): void {
  app.post('/api/publish', jsonBody(publishBody), async (c) => {
    const { room, data, priority = 'normal', t } = c.req.valid('json');
    const { offset, epoch } = await node.publish(room, data, null, priority, { t });
    return c.json({ offset, epoch });
  });
}
