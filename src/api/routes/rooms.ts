import type { Hono } from 'hono';
import { type Node, ReplyError } from '../../node/index.js';

/**
 * `GET /api/rooms?sort=members|rate&limit=N` → `{rooms: [...]}`: this node's busiest rooms with
 * members, rate, merge ratio and drops. `GET /api/rooms/:room` → `{room, online, offset, epoch}`.
 */
export function roomsRoute(app: Hono, node: Node): void {
  app.get('/api/rooms', (c) => {
    const sort = c.req.query('sort') ?? 'members';
    if (sort !== 'members' && sort !== 'rate')
      throw new ReplyError('bad_request', 'sort must be members or rate');
    const limit = Number(c.req.query('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ReplyError('bad_request', 'limit must be an integer from 1 to 1000');
    }
    return c.json({ sort, rooms: node.topRooms(sort, limit) });
  });
  app.get('/api/rooms/:room{.+}', async (c) => c.json(await node.roomInfo(c.req.param('room'))));
}
