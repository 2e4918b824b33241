import type { Hono } from 'hono';
import { type Node, ReplyError } from '../../node/index.js';
import { pushBody } from '../schemas.js';
import { jsonBody } from '../validate.js';

/**
 * `POST /api/push {userId, event, data}` → `{delivered}`: every connection of the user that takes
 * the event, cluster-wide. `message` is accepted for `data` (the seed push service's field name).
 * With `persist` the push is stored first as an alert (docs/alerts.md) →
 * `{delivered, alert, stored, duplicate?, replaced?}`.
 */
export function pushRoute(app: Hono, node: Node): void {
  app.post('/api/push', jsonBody(pushBody), async (c) => {
    const body = c.req.valid('json');
    const data = body.data !== undefined ? body.data : body.message;
    const { ttlMs, collapseKey, id } = body;
    if (body.persist !== true) {
      const given = Object.entries({ ttlMs, collapseKey, id }).find(([, v]) => v !== undefined);
      if (given) throw new ReplyError('bad_request', `"${given[0]}" needs "persist": true`);
      const delivered = await node.push(body.userId, body.event, data);
      return c.json({ delivered });
    }
    return c.json(
      await node.alerts.push(body.userId, body.event, data, { ttlMs, collapseKey, id }),
    );
  });
}
