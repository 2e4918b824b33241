import type { Hono } from 'hono';
import { inboxFields, type Node, ReplyError } from '../../node/index.js';
import { ALERT_ID, userIdProblem } from '../../protocol/index.js';
import { inboxQuery, readBody } from '../schemas.js';
import { jsonBody, queryOf } from '../validate.js';

/**
 * The alert inbox of one user (docs/alerts.md): `GET /api/users/:user/alerts`,
 * `POST /api/users/:user/alerts/read` and `DELETE /api/users/:user/alerts/:alert`. Thin calls
 * into the node's alerts, which answer `unavailable` when the server keeps none.
 */
export function alertsRoute(app: Hono, node: Node): void {
  app.get('/api/users/:user/alerts', queryOf(inboxQuery), async (c) => {
    const userId = user(c.req.param('user'));
    const q = c.req.valid('query');
    const unreadOnly = q.unread === '1' || q.unread === 'true';
    const page = await node.alerts.inbox(userId, unreadOnly, q.limit);
    return c.body(`{${inboxFields(userId, page)}}`, 200, { 'Content-Type': 'application/json' });
  });

  app.post('/api/users/:user/alerts/read', jsonBody(readBody), async (c) => {
    const userId = user(c.req.param('user'));
    const body = c.req.valid('json');
    const { read } = await node.alerts.markRead(
      userId,
      body.all ? null : [...new Set(body.alerts)],
    );
    return c.json({ userId, read });
  });

  app.delete('/api/users/:user/alerts/:alert', async (c) => {
    const userId = user(c.req.param('user'));
    const alert = c.req.param('alert');
    if (!ALERT_ID.test(alert)) {
      throw new ReplyError(
        'bad_request',
        'an alert id must be 1-64 characters of letters, digits and _ -',
      );
    }
    const deleted = await node.alerts.remove(userId, alert);
    return c.json({ userId, alert, deleted });
  });
}

/** The `:user` of a path, checked as a user id. */
function user(value: string): string {
  const problem = userIdProblem(value);
  if (problem) throw new ReplyError('bad_request', problem);
  return value;
}
