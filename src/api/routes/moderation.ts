import type { Hono } from 'hono';
import type { Node, RuleOptions } from '../../node/index.js';
import { kickBody, liftBody, moderationQuery, ruleBody, slowModeBody } from '../schemas.js';
import { jsonBody, queryOf } from '../validate.js';

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
  const rules: Record<string, (userId: string, o: RuleOptions) => Promise<unknown>> = {
    mute: async (u, o) => ({ rule: await m.mute(u, o) }),
    ban: async (u, o) => ({ rule: await m.ban(u, o) }),
    shadowban: async (u, o) => ({ rule: await m.shadowBan(u, o) }),
  };
  const lifts: Record<string, (userId: string, o: RuleOptions) => Promise<unknown>> = {
    unmute: async (u, o) => ({ lifted: await m.unmute(u, o) }),
    unban: async (u, o) => ({ lifted: await m.unban(u, o) }),
    unshadowban: async (u, o) => ({ lifted: await m.unshadowBan(u, o) }),
  };
  for (const [action, run] of Object.entries(rules)) {
    app.post(`/api/moderation/${action}`, jsonBody(ruleBody), async (c) => {
      const { userId, room = null, durationMs = null } = c.req.valid('json');
      return c.json(await run(userId, { room, durationMs, by: 'api' }));
    });
  }
  for (const [action, run] of Object.entries(lifts)) {
    app.post(`/api/moderation/${action}`, jsonBody(liftBody), async (c) => {
      const { userId, room = null } = c.req.valid('json');
      return c.json(await run(userId, { room, durationMs: null, by: 'api' }));
    });
  }
  app.post('/api/moderation/kick', jsonBody(kickBody), async (c) => {
    const { userId, durationMs = null } = c.req.valid('json');
    return c.json(await m.kick(userId, { durationMs, by: 'api' }));
  });
  app.post('/api/rooms/:room{.+}/slowmode', jsonBody(slowModeBody), async (c) => {
    const { intervalMs } = c.req.valid('json');
    return c.json(await m.setSlowMode(c.req.param('room'), intervalMs, { by: 'api' }));
  });
  app.get('/api/moderation', queryOf(moderationQuery), async (c) => {
    const { userId, room } = c.req.valid('query');
    const answer: Record<string, unknown> = {};
    if (userId !== undefined) Object.assign(answer, { userId, rules: await m.rules(userId) });
    if (room !== undefined) Object.assign(answer, { room, slowModeMs: await m.slowMode(room) });
    return c.json(answer);
  });
}
