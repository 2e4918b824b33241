import type { Hono } from 'hono';
import { type Node, ReplyError } from '../../node/index.js';
import { acceptPush } from '../accept.js';
import { type JsonCall, jsonRoute } from '../json-call.js';
import { pushBody } from '../schemas.js';

/**
 * `POST /api/push {userId, event, data}` → `{delivered}`: every connection of the user that takes
 * the event, cluster-wide. `message` is accepted for `data` (the seed push service's field name).
 * With `persist` the push is stored first as an alert (docs/alerts.md) →
 * `{delivered, alert, stored, duplicate?, replaced?}`. Served by the fast path too (fast-path.ts).
 */
export const pushCall: JsonCall<typeof pushBody> = {
  path: '/api/push',
  schema: pushBody,
  accept: acceptPush,
  async run(node, body) {
    const data = body.data !== undefined ? body.data : body.message;
    const { ttlMs, collapseKey, id } = body;
    if (body.persist === true) {
      return {
        ...(await node.alerts.push(body.userId, body.event, data, { ttlMs, collapseKey, id })),
      };
    }
    // Plain pushes are the hot path: three comparisons, no allocation, before naming the field.
    if (ttlMs !== undefined || collapseKey !== undefined || id !== undefined) {
      const given =
        ttlMs !== undefined ? 'ttlMs' : collapseKey !== undefined ? 'collapseKey' : 'id';
      throw new ReplyError('bad_request', `"${given}" needs "persist": true`);
    }
    const delivered = await node.push(body.userId, body.event, data);
    return { delivered };
  },
};

/** Registers `POST /api/push` on the router. */
export function pushRoute(app: Hono, node: Node): void {
  jsonRoute(app, node, pushCall);
}
