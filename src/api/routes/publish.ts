import type { Hono } from 'hono';
import { type Node, ReplyError } from '../../node/index.js';
import { mediaTimeProblem, PRIORITIES, type Priority } from '../../protocol/index.js';
import { jsonObject, requiredString, requiredValue } from '../body.js';

/**
 * `POST /api/publish {room, data, priority?, t?}` → `{offset, epoch}`: the same delivery path as a
 * client publish; the backend may use any class, `system` included.
 */
export function publishRoute(app: Hono, node: Node): void {
  app.post('/api/publish', async (c) => {
    const body = await jsonObject(c);
    const room = requiredString(body, 'room');
    const data = requiredValue(body, 'data');
    const priority = body.priority ?? 'normal';
    if (!PRIORITIES.includes(priority as Priority)) {
      throw new ReplyError('bad_request', `"priority" must be one of ${PRIORITIES.join(', ')}`);
    }
    const tProblem = mediaTimeProblem(body.t);
    if (tProblem) throw new ReplyError('bad_request', tProblem);
    const t = body.t as number | undefined;
    const { offset, epoch } = await node.publish(room, data, null, priority as Priority, { t });
    return c.json({ offset, epoch });
  });
}
