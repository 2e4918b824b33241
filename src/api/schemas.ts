/**
 * The shape of every request body and query string the HTTP API takes, as zod schemas. Each field's
 * `description` is its rule in words: it completes "FIELD must be ..." in a 400 answer, and it is
 * the "rule" column of that request's table in docs/http-api.md (generated, see doc.ts).
 */
import { z } from 'zod';
import { MAX_ALERT_TTL_MS, MAX_MODERATION_MS, MAX_SLOW_MODE_MS } from '../node/index.js';
import {
  ALERT_ID,
  COLLAPSE_KEY,
  DEFAULT_INBOX_LIMIT,
  EVENT_NAME,
  MAX_INBOX_LIMIT,
  MAX_MEDIA_TIME_MS,
  PRIORITIES,
  ROOM_NAME,
  USER_ID,
} from '../protocol/index.js';

const room = z
  .string()
  .regex(ROOM_NAME)
  .meta({ description: '1-128 characters of letters, digits and _ - : . @ /' });
const userId = z
  .string()
  .regex(USER_ID)
  .meta({ description: '1-128 characters without whitespace' });
const event = z
  .string()
  .regex(EVENT_NAME)
  .meta({ description: '1-64 characters of letters, digits and _ - : .' });
const anyJson = (rule: string) => z.unknown().optional().meta({ description: rule });
const requiredJson = z
  .custom<unknown>((value) => value !== undefined, { error: '"data" is required' })
  .meta({ description: 'any JSON value, `null` included (required)' });
const durationMs = z
  .int()
  .min(1)
  .max(MAX_MODERATION_MS)
  .nullable()
  .optional()
  .meta({
    description: `an integer from 1 to ${MAX_MODERATION_MS} (or absent: until lifted)`,
  });
/** A field that must be absent: giving it is a mistake worth naming (`refused` in its meta). */
const refused = (why: string) =>
  z
    .undefined({ error: why })
    .optional()
    .meta({ description: why.replace(/^"\w+" /, ''), refused: true });

/** `POST /api/publish`. */
export const publishBody = z.object({
  room,
  data: requiredJson,
  priority: z
    .enum(PRIORITIES)
    .optional()
    .meta({ description: `one of ${PRIORITIES.join(', ')} (absent: normal)` }),
  t: z
    .int()
    .min(0)
    .max(MAX_MEDIA_TIME_MS)
    .optional()
    .meta({
      description: `an integer media time in ms from 0 to ${MAX_MEDIA_TIME_MS}: where the comment sits on a timeline room's video (docs/timeline.md)`,
    }),
});

/** `POST /api/push`. */
export const pushBody = z.object({
  userId,
  event,
  data: anyJson('any JSON value (absent: null)'),
  message: anyJson('taken for `data` when `data` is absent (the seed push service name)'),
  persist: z.boolean().optional().meta({
    description: 'true: store the push as an alert first (docs/alerts.md; needs a store)',
  }),
  ttlMs: z
    .int()
    .min(1)
    .max(MAX_ALERT_TTL_MS)
    .optional()
    .meta({
      description: `an integer from 1 to ${MAX_ALERT_TTL_MS} (30 days): the alert expires that long after it is stored (with persist)`,
    }),
  collapseKey: z.string().regex(COLLAPSE_KEY).optional().meta({
    description:
      "1-128 characters of letters, digits and _ - : .: replaces the user's unread alert with this key (with persist)",
  }),
  id: z.string().regex(USER_ID).optional().meta({
    description:
      '1-128 characters without whitespace: idempotency key, the same id within 24 h stores nothing new (with persist)',
  }),
});

/** `GET /api/users/:user/alerts?unread=&limit=`. */
export const inboxQuery = z.object({
  unread: z
    .enum(['1', '0', 'true', 'false'])
    .optional()
    .meta({ description: '1 or true: unread alerts only (absent, 0 or false: read ones too)' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_INBOX_LIMIT)
    .default(DEFAULT_INBOX_LIMIT)
    .meta({
      description: `an integer from 1 to ${MAX_INBOX_LIMIT}: most alerts listed, oldest first (absent: ${DEFAULT_INBOX_LIMIT})`,
    }),
});

/** `POST /api/users/:user/alerts/read`. */
export const readBody = z
  .object({
    alerts: z
      .array(z.string().regex(ALERT_ID))
      .min(1)
      .max(MAX_INBOX_LIMIT)
      .optional()
      .meta({ description: `an array of 1 to ${MAX_INBOX_LIMIT} alert ids` }),
    all: z.literal(true).optional().meta({ description: 'true: every unread alert of the user' }),
  })
  .refine((b) => (b.alerts === undefined) !== (b.all === undefined), {
    error: 'give either "alerts" (ids) or "all": true',
  });

/** `POST /api/broadcast`. */
export const broadcastBody = z.object({
  event,
  data: anyJson('any JSON value (absent: null)'),
});

/** `POST /api/moderation/{mute,ban,shadowban}`. */
export const ruleBody = z.object({
  userId,
  room: room.nullable().optional().meta({
    description: '1-128 characters of letters, digits and _ - : . @ / (absent or null: every room)',
  }),
  durationMs,
});

/** `POST /api/moderation/{unmute,unban,unshadowban}`. */
export const liftBody = z.object({
  userId,
  room: ruleBody.shape.room,
  durationMs: refused('"durationMs" has no meaning when lifting a rule'),
});

/** `POST /api/moderation/kick`. */
export const kickBody = z.object({
  userId,
  room: refused('"room" has no meaning: a kick applies to every room'),
  durationMs: durationMs.meta({
    description: `an integer from 1 to ${MAX_MODERATION_MS}: the user is also banned that long (absent or null: no ban)`,
  }),
});

/** `POST /api/rooms/:room/slowmode`. */
export const slowModeBody = z.object({
  intervalMs: z
    .int()
    .min(0)
    .max(MAX_SLOW_MODE_MS)
    .meta({ description: `an integer from 0 to ${MAX_SLOW_MODE_MS} (0 turns slow mode off)` }),
});

/** `GET /api/rooms?sort=&limit=`. */
export const roomsQuery = z.object({
  sort: z.enum(['members', 'rate']).default('members').meta({
    description: 'members or rate: most members, or most messages a second (absent: members)',
  }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .meta({ description: 'an integer from 1 to 1000: how many rooms (absent: 20)' }),
});

/** `GET /api/moderation?userId=&room=`. */
export const moderationQuery = z
  .object({
    userId: userId.optional().meta({ description: 'a user id: list its rules' }),
    room: room.optional().meta({ description: 'a room name: answer its slow mode' }),
  })
  .refine((q) => q.userId !== undefined || q.room !== undefined, {
    error: 'give userId (its rules) and/or room (its slow mode)',
  });
