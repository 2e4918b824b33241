import type { Context, Hono } from 'hono';
import type { Node, RuleOptions } from '../../node/index.js';
import { ReplyError } from '../../node/index.js';
import { jsonObject, requiredString } from '../body.js';

type RuleAction = 'mute' | 'unmute' | 'ban' | 'unban' | 'shadowban' | 'unshadowban';

/**
 * Moderation, cluster-wide (docs/moderation.md). Every call is logged as an audit line with
 * `by: "api"` and counted in `barrage_moderation_actions_total`.
 *
 * - `POST /api/moderation/{mute,ban,shadowban} {userId, room?, durationMs?}` → `{rule}`
 * - `POST /api/moderation/{unmute,unban,unshadowban} {userId, room?}` → `{lifted}`
 * - `POST /api/moderation/kick {userId, durationMs?}` → `{userId, bannedUntil}`
 * - `POST /api/rooms/:room/slowmode {intervalMs}` (0 turns it off) → `{room, intervalMs}`
 * - `GET /api/moderation?userId=U&room=R` → `{userId, rules}` and/or `{room, slowModeMs}`
 */
export function moderationRoute(app: Hono, node: Node): void {
  const m = node.moderation;
  const rules: Record<RuleAction, (userId: string, o: RuleOptions) => Promise<unknown>> = {
    mute: async (u, o) => ({ rule: await m.mute(u, o) }),
    ban: async (u, o) => ({ rule: await m.ban(u, o) }),
    shadowban: async (u, o) => ({ rule: await m.shadowBan(u, o) }),
    unmute: async (u, o) => ({ lifted: await m.unmute(u, o) }),
    unban: async (u, o) => ({ lifted: await m.unban(u, o) }),
    unshadowban: async (u, o) => ({ lifted: await m.unshadowBan(u, o) }),
  };
  for (const [action, run] of Object.entries(rules)) {
    const lifts = action.startsWith('un');
    app.post(`/api/moderation/${action}`, async (c) => {
      const body = await jsonObject(c);
      const userId = requiredString(body, 'userId');
      const room = optionalRoom(body);
      if (lifts && 'durationMs' in body)
        throw new ReplyError('bad_request', `"durationMs" has no meaning for ${action}`);
      const durationMs = lifts ? null : optionalDuration(body);
      return c.json(await run(userId, { room, durationMs, by: 'api' }));
    });
  }
  app.post('/api/moderation/kick', async (c) => {
    const body = await jsonObject(c);
    const userId = requiredString(body, 'userId');
    if ('room' in body) throw new ReplyError('bad_request', 'a kick applies to every room');
    return c.json(await m.kick(userId, { durationMs: optionalDuration(body), by: 'api' }));
  });
  // A wildcard, not `:room{.+}/slowmode`: Hono's router lets the rooms route's regex win over it.
  app.post('/api/rooms/*', async (c, next) => {
    const path = c.req.path;
    if (!path.endsWith(SLOWMODE)) return next();
    const room = decode(path.slice('/api/rooms/'.length, -SLOWMODE.length));
    const body = await jsonObject(c);
    const intervalMs = body.intervalMs;
    if (typeof intervalMs !== 'number') {
      throw new ReplyError('bad_request', '"intervalMs" must be a number (0 turns slow mode off)');
    }
    return c.json(await m.setSlowMode(room, intervalMs, { by: 'api' }));
  });
  app.get('/api/moderation', async (c) => {
    const userId = c.req.query('userId');
    const room = c.req.query('room');
    if (userId === undefined && room === undefined) {
      throw new ReplyError('bad_request', 'give userId (its rules) and/or room (its slow mode)');
    }
    const answer: Record<string, unknown> = {};
    if (userId !== undefined) Object.assign(answer, { userId, rules: await m.rules(userId) });
    if (room !== undefined) Object.assign(answer, { room, slowModeMs: await m.slowMode(room) });
    return c.json(answer);
  });
  for (const action of [...Object.keys(rules), 'kick']) {
    app.all(`/api/moderation/${action}`, (c) => methodNotAllowed(c, 'POST'));
  }
  app.all('/api/moderation', (c) => methodNotAllowed(c, 'GET'));
}

const SLOWMODE = '/slowmode';

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ReplyError('bad_request', 'bad percent-encoding in the room name');
  }
}

function optionalRoom(body: Record<string, unknown>): string | null {
  const room = body.room;
  if (room === undefined || room === null) return null;
  if (typeof room !== 'string')
    throw new ReplyError('bad_request', '"room" must be a string (absent: every room)');
  return room;
}

function optionalDuration(body: Record<string, unknown>): number | null {
  const ms = body.durationMs;
  if (ms === undefined || ms === null) return null;
  if (typeof ms !== 'number') {
    throw new ReplyError('bad_request', '"durationMs" must be a number (absent: until lifted)');
  }
  return ms;
}

function methodNotAllowed(c: Context, allow: string): Response {
  c.header('Allow', allow);
  return c.json({ error: { code: 'bad_request', message: `use ${allow}` } }, 405);
}
