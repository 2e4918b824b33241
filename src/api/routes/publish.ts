import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { jsonObject, requiredString, requiredValue } from '../body.js';

/** `POST /api/publish {room, data}` → `{offset}`: the same delivery path as a client publish. */
export function publishRoute(app: Hono, node: Node): void {
  app.post('/api/publish', async (c) => {
    const body = await jsonObject(c);
    const room = requiredString(body, 'room');
    const data = requiredValue(body, 'data');
    const { offset, epoch } = await node.publish(room, data, null);
    return c.json({ offset, epoch });
  });
}
