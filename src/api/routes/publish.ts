import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { acceptPublish } from '../accept.js';
import { type JsonCall, jsonRoute } from '../json-call.js';
import { publishBody } from '../schemas.js';

/**
 * `POST /api/publish {room, data, priority?, t?}` → `{offset, epoch}`: the same delivery path as a
 * client publish; the backend may use any class, `system` included. Served by the fast path too
 * (fast-path.ts).
 */
export const publishCall: JsonCall<typeof publishBody> = {
  path: '/api/publish',
  schema: publishBody,
  accept: acceptPublish,
  async run(node, { room, data, priority = 'normal', t }) {
    const { offset, epoch } = await node.publish(room, data, null, priority, { t });
    return { offset, epoch };
  },
};

/** Registers `POST /api/publish` on the router. */
export function publishRoute(app: Hono, node: Node): void {
  jsonRoute(app, node, publishCall);
}
