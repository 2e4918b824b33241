import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';

/** `GET /api/rooms/:room` → `{room, online, offset, epoch}`. */
export function roomsRoute(app: Hono, node: Node): void {
  app.get('/api/rooms/:room{.+}', async (c) => c.json(await node.roomInfo(c.req.param('room'))));
}
