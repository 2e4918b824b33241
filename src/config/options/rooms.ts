/** Options of the group Rooms and history (schema.ts): room policies, the render budget, history and presence. */
import type { OptionSpec } from '../option-spec.js';

/**
 * The policy of a room that no other rule matches, and of every room when no rule matches at all:
 * merged adaptively (no added delay while the room is cheap; up to 50 ms when its members x rate
 * is high), reliable (nothing skipped; a member that cannot keep up is closed 4008 and resumes
 * with `since`). So a big chat room needs no naming rule to survive load.
 */
export const CATCH_ALL_ROOM_POLICY = '*=50/reliable';

export const ROOM_OPTIONS = {
  roomPolicies: {
    type: 'list',
    default: ['live:*=50/lossy', CATCH_ALL_ROOM_POLICY],
    group: 'Rooms and history',
    help: `Delivery per room pattern: PATTERN=MAX_MERGE_WINDOW_MS[/lossy|reliable][/adaptive|fixed], first match wins. The window adapts to the room's deliveries a second, members x messages (0 while under 20000) unless fixed; a room no rule matches gets ${CATCH_ALL_ROOM_POLICY} (end with *=0 to send other rooms at once)`,
  },
  renderBudget: {
    type: 'int',
    default: 0,
    min: 0,
    max: 100_000,
    group: 'Rooms and history',
    help: 'Messages a second a client is sampled to (fairly, paid and system kept) when it declares no budget on join; 0: no limit',
  },
  historySize: {
    type: 'int',
    default: 200,
    min: 0,
    max: 100_000,
    group: 'Rooms and history',
    help: 'Messages kept per room for recovery and history',
  },
  historyTtlMs: {
    type: 'int',
    default: 300_000,
    min: 1000,
    max: 7 * 86_400_000,
    group: 'Rooms and history',
    help: 'How long a message stays in history, ms',
  },
  presenceIntervalMs: {
    type: 'int',
    default: 1000,
    min: 50,
    max: 60_000,
    group: 'Rooms and history',
    help: 'How often online counts are shared and presence sent, ms; with Redis, a node that stops sharing has its counts expire after 3 intervals plus 1 s',
  },
} as const satisfies Record<string, OptionSpec>;
