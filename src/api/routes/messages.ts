import type { Hono } from 'hono';
import { type Node, ReplyError } from '../../node/index.js';
import type { RouteShape } from '../allow.js';
import { jsonText, messageJson } from './stored-json.js';
import { archiveOf, queryInt, splitPath, storeCall, storedRoom } from './timeline.js';

/** What the `/api/rooms/*` wildcard below really answers (for the Allow header, allow.ts). */
export const MESSAGES_SHAPES: readonly RouteShape[] = [
  { method: 'GET', wildcard: '/api/rooms/*', paths: ['/api/rooms/:room{.+}/messages'] },
];

/**
 * `GET /api/rooms/:room/messages?before=OFFSET[&epoch=E][&limit=N]` → `{room, messages, next}`:
 * "load earlier" in a stored room, beyond the in-memory history. `messages` are oldest first;
 * `next` is the `{before, epoch}` of the following (older) page, or null at the start.
 */
export function messagesRoute(app: Hono, node: Node): void {
  app.get('/api/rooms/*', async (c, next) => {
    const parts = splitPath(c.req.path, '/api/rooms/');
    if (parts.length < 2 || parts[parts.length - 1] !== 'messages') return next();
    const room = storedRoom(node, parts.slice(0, -1).join('/'));
    const limit = queryInt(c, 'limit', 1, 1000, 100);
    const beforeText = c.req.query('before');
    let before: { epoch: string; offset: number } | null = null;
    if (beforeText !== undefined) {
      const offset = queryInt(c, 'before', 0, Number.MAX_SAFE_INTEGER, 0);
      const given = c.req.query('epoch');
      if (given !== undefined && (given.length === 0 || given.length > 64)) {
        throw new ReplyError('bad_request', '"epoch" must be 1 to 64 characters');
      }
      const epoch = given ?? (await node.roomInfo(room)).epoch;
      before = { epoch, offset };
    }
    const rows = await storeCall(node, () => archiveOf(node).store.before({ room, before, limit }));
    const first = rows.length === limit ? rows[0] : undefined;
    const nextPage = first ? JSON.stringify({ before: first.offset, epoch: first.epoch }) : 'null';
    return jsonText(
      `{"room":${JSON.stringify(room)},"messages":[${rows.map(messageJson).join(',')}],"next":${nextPage}}`,
    );
  });
}
