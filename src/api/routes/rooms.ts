import type { Hono } from 'hono';
import type { Node } from '../../node/index.js';
import { roomsQuery } from '../schemas.js';
import { queryOf } from '../validate.js';

/**
 * `GET /api/rooms?sort=members|rate&limit=N` → `{sort, rooms: [...]}`: this node's busiest rooms
 * with members, rate, merge ratio and drops. `GET /api/rooms/:room` → `{room, online, offset, epoch}`.
 */
export function roomsRoute(app: Hono, node: Node): void {
  app.get('/api/rooms', queryOf(roomsQuery), (c) => {
    const { sort, limit } = c.req.valid('query');
    return c.json({ sort, rooms: node.topRooms(sort, limit) });
  });
  app.get('/api/rooms/:room{.+}', async (c) => c.json(await node.roomInfo(c.req.param('room'))));
}
