import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { type JsonCall, jsonRoute } from '../json-call.js';
import { pushBody } from '../schemas.js';

/**
 * `POST /api/push {userId, event, data}` → `{delivered}`: every connection of the user that takes
 * the event, cluster-wide. `message` is accepted for `data` (the seed push service's field name).
 * Served by the fast path too (fast-path.ts).
 */
export const pushCall: JsonCall<typeof pushBody> = {
  path: '/api/push',
  schema: pushBody,
  async run(node, body) {
    const data = body.data !== undefined ? body.data : body.message;
    const delivered = await node.push(body.userId, body.event, data);
    return { delivered };
  },
};

/** Registers `POST /api/push` on the router. */
export function pushRoute(app: Hono, node: Node): void {
  jsonRoute(app, node, pushCall);
}
