/**
 * Moderation, cluster-wide: slow mode, mute, ban, shadow ban, a keyword filter and kick.
 *
 * Rules live in the broker (`ModerationStore`), so every node applies the same ones; this engine
 * checks them on join and publish, applies the keyword filter, answers the library and HTTP API
 * (`node.moderation.mute(...)`), writes one audit log line per action, and reacts to changes from
 * any node: a ban removes the user's connections here from the room (or every room), a kick
 * closes them with 4504. Rules apply to users (user ids); anonymous connections are not
 * moderated by these rules (turn anonymous publishing off with `allowAnonymousPublish: false`).
 */
import {
  BrokerUnavailableError,
  type ModerationEvent,
  type ModerationKind,
  type ModerationRule,
  type ModerationStore,
} from '../broker/types.js';
import type { Logger } from '../log.js';
import { CLOSE, roomNameProblem, userIdProblem } from '../protocol/index.js';
import { brokerFailure, ReplyError } from './errors.js';
import { type BlockedWordsAction, KeywordFilter } from './keyword-filter.js';

export type { BlockedWordsAction } from './keyword-filter.js';

/** Who took a moderation action, for the audit trail. */
export type ModerationActor = 'api' | 'library';

/** The engine's moderation options (from `blockedWords` and `blockedWordsAction`). */
export interface ModerationOptions {
  /** Words refused or masked in client messages, matched case-insensitively anywhere in a string. */
  blockedWords: readonly string[];
  /** `reject`: refuse with `forbidden`; `mask`: replace each match with `*`. */
  blockedWordsAction: BlockedWordsAction;
}

/** Options of a rule change. */
export interface RuleOptions {
  /** The room it applies to; absent or null: every room. */
  room?: string | null;
  /** How long it lasts, ms; absent or null: until lifted. */
  durationMs?: number | null;
  /** Who asks, for the audit trail. @default 'library' */
  by?: ModerationActor;
}

/** What a moderation change does to this node's connections; the node applies it. */
export interface ModerationEffects {
  /** A ban was set: take the user's connections here out of the room (null: every room). */
  banned(userId: string, room: string | null): void;
  /** A kick: close every connection of the user here with 4504 and this reason. */
  kicked(userId: string, reason: string): void;
}

/** How long a rule or kick may last at most: one year. */
export const MAX_MODERATION_MS = 365 * 86_400_000;
/** The longest slow mode interval: one hour. */
export const MAX_SLOW_MODE_MS = 3_600_000;
const ACTIONS = ['mute', 'unmute', 'ban', 'unban', 'shadowban', 'unshadowban', 'kick', 'slowmode'];
const REASONS = ['banned', 'muted', 'slow_mode', 'blocked_word', 'shadowed', 'masked'];

/** The moderation engine of one node. */
export class Moderation {
  /** Actions taken through this node, by action; refusals of client commands, by reason. */
  readonly counters = {
    actions: Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<string, number>,
    refusals: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<string, number>,
  };
  private readonly words: KeywordFilter;
  private bansSeen = 0;

  constructor(
    private readonly store: ModerationStore | null,
    options: ModerationOptions,
    private readonly effects: ModerationEffects,
    private readonly log: Logger,
  ) {
    this.words = new KeywordFilter(options.blockedWords, options.blockedWordsAction);
    store?.onModeration((event) => this.onEvent(event));
  }

  /** Mutes a user (may read, may not publish), in one room or every room. */
  mute(userId: string, options: RuleOptions = {}): Promise<ModerationRule> {
    return this.setRule('mute', 'mute', userId, options);
  }

  /** Lifts a mute; resolves false when there was none. */
  unmute(userId: string, options: RuleOptions = {}): Promise<boolean> {
    return this.liftRule('mute', 'unmute', userId, options);
  }

  /** Bans a user (may not join or publish); their connections leave the room (or every room). */
  ban(userId: string, options: RuleOptions = {}): Promise<ModerationRule> {
    return this.setRule('ban', 'ban', userId, options);
  }

  /** Lifts a ban; resolves false when there was none. */
  unban(userId: string, options: RuleOptions = {}): Promise<boolean> {
    return this.liftRule('ban', 'unban', userId, options);
  }

  /** Shadow-bans a user: their comments reach only their own connections. */
  shadowBan(userId: string, options: RuleOptions = {}): Promise<ModerationRule> {
    return this.setRule('shadow', 'shadowban', userId, options);
  }

  /** Lifts a shadow ban; resolves false when there was none. */
  unshadowBan(userId: string, options: RuleOptions = {}): Promise<boolean> {
    return this.liftRule('shadow', 'unshadowban', userId, options);
  }

  /**
   * Disconnects every connection of the user on every node (close 4504). With `durationMs`, the
   * user is banned from every room for that long first, so a reconnect cannot rejoin.
   */
  async kick(
    userId: string,
    options: { durationMs?: number | null; by?: ModerationActor } = {},
  ): Promise<{ userId: string; bannedUntil: number | null }> {
    const store = this.need(userId);
    const durationMs = duration(options.durationMs, false);
    let bannedUntil: number | null = null;
    if (durationMs !== null) {
      bannedUntil = (await guard(store.setRule('ban', userId, null, durationMs))).expiresAt;
    }
    await guard(store.kick(userId, durationMs ?? 0));
    this.audit('kick', options.by, { userId, durationMs, expiresAt: bannedUntil });
    return { userId, bannedUntil };
  }

  /** Sets a room's slow mode: one comment per user per `intervalMs`; 0 turns it off. */
  async setSlowMode(
    room: string,
    intervalMs: number,
    options: { by?: ModerationActor } = {},
  ): Promise<{ room: string; intervalMs: number }> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    if (!Number.isInteger(intervalMs) || intervalMs < 0 || intervalMs > MAX_SLOW_MODE_MS) {
      throw new ReplyError(
        'bad_request',
        `"intervalMs" must be an integer from 0 to ${MAX_SLOW_MODE_MS}`,
      );
    }
    const store = this.need(null);
    await guard(store.setSlowMode(room, intervalMs));
    this.audit('slowmode', options.by, { room, intervalMs });
    return { room, intervalMs };
  }

  /** A room's slow mode interval, ms (0: off). */
  async slowMode(room: string): Promise<number> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.store ? guard(this.store.slowMode(room)) : 0;
  }

  /** Every live rule of a user. */
  async rules(userId: string): Promise<ModerationRule[]> {
    const problem = userIdProblem(userId);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.store ? guard(this.store.listRules(userId)) : [];
  }

  /**
   * Counts the bans this node has heard of. A join whose checks straddle a ban (checked before
   * it, in the room after its removal ran) compares this before and after, and checks again.
   */
  get banVersion(): number {
    return this.bansSeen;
  }

  /** Refuses a join of a banned user with `forbidden` (and `retryAfterMs` when it expires). */
  async checkJoin(userId: string | null, room: string): Promise<void> {
    if (userId === null || !this.store) return;
    const rules = await guard(this.store.rulesFor(userId, room));
    const ban = strongest(rules, 'ban');
    if (ban) throw this.refuse('banned', 'forbidden', `banned from ${room}`, ban.expiresAt);
  }

  /**
   * Checks a client publish: refuses a banned or muted user (`forbidden`) and a comment inside
   * the room's slow mode interval (`rate_limited`, with `retryAfterMs`). Resolves `shadow` when
   * the comment must reach only its sender (see `Node.publish`).
   */
  /** Whether `checkPublish` would answer 'publish' without reading anything (see clearNow). */
  clearsAtOnce(userId: string | null, room: string): boolean {
    return userId === null || this.store === null || this.store.clearNow?.(userId, room) === true;
  }

  async checkPublish(userId: string | null, room: string): Promise<'publish' | 'shadow'> {
    if (userId === null || !this.store) return 'publish';
    const rules = await guard(this.store.rulesFor(userId, room));
    const ban = strongest(rules, 'ban');
    if (ban) throw this.refuse('banned', 'forbidden', `banned from ${room}`, ban.expiresAt);
    const mute = strongest(rules, 'mute');
    if (mute) throw this.refuse('muted', 'forbidden', `muted in ${room}`, mute.expiresAt);
    const intervalMs = await guard(this.store.slowMode(room));
    if (intervalMs > 0) {
      const waitMs = await guard(this.store.claimTurn(room, userId, intervalMs));
      if (waitMs > 0) {
        throw this.refuse(
          'slow_mode',
          'rate_limited',
          `slow mode: one comment every ${intervalMs} ms in ${room}`,
          Date.now() + waitMs,
        );
      }
    }
    if (strongest(rules, 'shadow')) {
      this.counters.refusals.shadowed = (this.counters.refusals.shadowed ?? 0) + 1;
      return 'shadow';
    }
    return 'publish';
  }

  /**
   * The keyword filter on a client message's data: every string in it (keys untouched) is searched
   * case-insensitively for the blocked words. `reject` refuses with `forbidden`; `mask` replaces
   * each match with as many `*`. Returns the data to publish.
   */
  filter(data: unknown): unknown {
    if (!this.words.active) return data;
    const result = this.words.apply(data);
    if (result.outcome === 'blocked') {
      throw this.refuse('blocked_word', 'forbidden', 'message contains a blocked word', null);
    }
    if (result.outcome === 'masked')
      this.counters.refusals.masked = (this.counters.refusals.masked ?? 0) + 1;
    return result.data;
  }

  private async setRule(
    kind: ModerationKind,
    action: string,
    userId: string,
    options: RuleOptions,
  ): Promise<ModerationRule> {
    const store = this.need(userId);
    const room = scope(options.room);
    const durationMs = duration(options.durationMs, true);
    const rule = await guard(store.setRule(kind, userId, room, durationMs));
    this.audit(action, options.by, { userId, room, durationMs, expiresAt: rule.expiresAt });
    return rule;
  }

  private async liftRule(
    kind: ModerationKind,
    action: string,
    userId: string,
    options: RuleOptions,
  ): Promise<boolean> {
    const store = this.need(userId);
    const room = scope(options.room);
    const lifted = await guard(store.liftRule(kind, userId, room));
    this.audit(action, options.by, { userId, room, lifted });
    return lifted;
  }

  /** A change from any node: a ban removes the user from rooms here, a kick disconnects them. */
  private onEvent(event: ModerationEvent): void {
    if (event.type === 'kick') {
      const reason =
        event.durationMs > 0
          ? `${CLOSE.kicked.reason}; retryAfterMs=${event.durationMs}`
          : CLOSE.kicked.reason;
      this.effects.kicked(event.userId, reason);
      return;
    }
    if (event.type !== 'rule' || event.lifted || event.rule.kind !== 'ban') return;
    this.bansSeen++;
    this.effects.banned(event.rule.userId, event.rule.room);
  }

  private need(userId: string | null): ModerationStore {
    if (userId !== null) {
      const problem = userIdProblem(userId);
      if (problem) throw new ReplyError('bad_request', problem);
    }
    if (!this.store) {
      throw new ReplyError('unavailable', 'this broker holds no moderation rules');
    }
    return this.store;
  }

  private refuse(
    reason: string,
    code: 'forbidden' | 'rate_limited',
    message: string,
    until: number | null,
  ): ReplyError {
    this.counters.refusals[reason] = (this.counters.refusals[reason] ?? 0) + 1;
    const retryAfterMs = until === null ? undefined : Math.max(1, until - Date.now());
    return new ReplyError(code, message, retryAfterMs);
  }

  private audit(action: string, by: ModerationActor = 'library', fields: object): void {
    this.counters.actions[action] = (this.counters.actions[action] ?? 0) + 1;
    this.log.info({ audit: 'moderation', by, action, ...fields }, 'moderation action');
  }
}

/** The rule of a kind that lasts longest (a rule without expiry first), or undefined. */
function strongest(rules: ModerationRule[], kind: ModerationKind): ModerationRule | undefined {
  let best: ModerationRule | undefined;
  for (const rule of rules) {
    if (rule.kind !== kind) continue;
    if (
      !best ||
      rule.expiresAt === null ||
      (best.expiresAt !== null && rule.expiresAt > best.expiresAt)
    )
      best = rule;
  }
  return best;
}

function scope(room: string | null | undefined): string | null {
  if (room === undefined || room === null) return null;
  const problem = roomNameProblem(room);
  if (problem) throw new ReplyError('bad_request', problem);
  return room;
}

function duration(ms: number | null | undefined, optional: boolean): number | null {
  if (ms === undefined || ms === null) return null;
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_MODERATION_MS) {
    const none = optional ? ' (or absent: until lifted)' : ' (or absent)';
    throw new ReplyError(
      'bad_request',
      `"durationMs" must be an integer from 1 to ${MAX_MODERATION_MS}${none}`,
    );
  }
  return ms;
}

/** Maps a store's failure (Redis away) to the contract's `unavailable`. */
async function guard<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ReplyError) throw err;
    // The broker's kind of failure ("the broker is unreachable; ..."): the store is only where it
    // showed. Where Redis is and why stay in the server log (brokerFailure).
    if (err instanceof BrokerUnavailableError) throw brokerFailure(err);
    throw new ReplyError('unavailable', `moderation store: ${(err as Error)?.message ?? err}`);
  }
}
