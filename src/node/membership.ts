import type { Broker } from '../broker/types.js';
import type { Hub } from '../hub/index.js';
import type { Logger } from '../log.js';
import {
  isShadowLine,
  type JoinCommand,
  joinedLine,
  type LeftReason,
  leftLine,
  lineSender,
  unshadowLine,
} from '../protocol/index.js';
import type { Session } from '../session/index.js';
import { ReplyError, viaBroker } from './errors.js';
import { JoinLimiter } from './join-limits.js';
import type { Moderation } from './moderation.js';
import type { NodeOptions } from './options.js';
import { enforce, roomAllowed, sessionInfo } from './permissions.js';
import type { PresenceTracker } from './presence.js';
import { withStoredHistory } from './stored-history.js';

/** What room membership needs of the engine. */
export interface MembershipParts {
  readonly hub: Hub;
  readonly broker: Broker;
  readonly options: NodeOptions;
  readonly presence: PresenceTracker;
  readonly moderation: Moderation;
  readonly log: Logger;
}

/**
 * Room membership of this node's connections, in one place. A connection enters a room only
 * through `join` (the checks of `admit`, the broker subscription, history, the `joined` reply and
 * the live hand-off) and leaves it only through `leave` (its own command) or `remove` (a ban, a
 * narrower token). The hub keeps both sides of membership in step and announces rooms created
 * and emptied; this class follows those announcements with the broker's room subscriptions.
 */
export class RoomMembership {
  /** Broker subscriptions of the hub's rooms, in flight or done. */
  private readonly subscribed = new Map<string, Promise<void>>();
  /** Joins over time, per connection and per address (null: not bounded). */
  private readonly joins: JoinLimiter | null;

  constructor(private readonly parts: MembershipParts) {
    const limits = parts.options.joinLimits;
    this.joins = limits ? new JoinLimiter(limits) : null;
  }

  /** The hub created a room on its first session here: subscribe the broker to it. */
  roomCreated(name: string): void {
    this.subscribed.set(
      name,
      viaBroker(() => this.parts.broker.subscribeRoom(name)),
    );
  }

  /** The hub dropped a room its last session here left: unsubscribe the broker. */
  roomEmptied(name: string): void {
    this.subscribed.delete(name);
    this.parts.broker.unsubscribeRoom(name).catch((err: Error) => {
      this.parts.log.warn({ err: err.message, room: name }, 'broker unsubscribe failed');
    });
  }

  /**
   * Whether the session may be in the room, in the order of the contract: the token's `rooms`
   * claim, a ban (room or global), then the `authorizeJoin` hook. Throws the refusal.
   */
  async admit(session: Session, name: string): Promise<void> {
    if (!roomAllowed(session.identity?.joinRooms, name)) {
      throw new ReplyError('forbidden', `not allowed to join ${name}`);
    }
    await this.parts.moderation.checkJoin(session.userId, name);
    await enforce(this.parts.options.hooks.authorizeJoin, sessionInfo(session), name, 'join');
  }

  /**
   * After a re-authentication: checks every room the session is in (or joining) again, as a join
   * would (`admit`), and takes it out of those that no longer pass, with a `left` line
   * (`banned`, or `not_allowed` for the token's claims and the `authorizeJoin` hook). A check the
   * broker cannot answer now (`unavailable`) keeps the room: it was admitted before. Returns the
   * rooms left.
   */
  async recheck(session: Session): Promise<string[]> {
    const left: string[] = [];
    for (const name of [...session.rooms]) {
      const reason = await this.refusal(session, name);
      if (reason !== null && !session.closed && this.remove(session, name, reason)) left.push(name);
    }
    return left;
  }

  /** Why the session may no longer be in the room, or null when it may (see `recheck`). */
  private async refusal(session: Session, name: string): Promise<LeftReason | null> {
    if (!roomAllowed(session.identity?.joinRooms, name)) return 'not_allowed';
    try {
      await this.parts.moderation.checkJoin(session.userId, name);
    } catch (err) {
      return isUnavailable(err) ? null : 'banned';
    }
    try {
      await enforce(this.parts.options.hooks.authorizeJoin, sessionInfo(session), name, 'join');
    } catch (err) {
      if (isUnavailable(err)) return null;
      if (!(err instanceof ReplyError)) {
        this.parts.log.error({ err: (err as Error)?.message, room: name }, 'authorizeJoin threw');
      }
      return 'not_allowed';
    }
    return null;
  }

  /**
   * A client's join: the checks, then the session is in the room (counted, frames held) while
   * the broker subscription and the history are fetched; the `joined` reply goes out and the
   * session becomes a member with exactly the live messages after the reply's offset. Throws
   * the refusal; a join cancelled meanwhile by a removal is refused too (`forbidden`), one
   * cancelled by a disconnect ends quietly.
   */
  async join(session: Session, command: JoinCommand): Promise<void> {
    const { room: name, id } = command;
    const { options, hub } = this.parts;
    if (options.authTimeoutMs !== null && session.identity === null) {
      throw new ReplyError('unauthorized', 'authenticate before joining');
    }
    const waitMs = this.joins?.take(session, Date.now()) ?? 0;
    if (waitMs > 0) throw new ReplyError('rate_limited', 'joining rooms too fast', waitMs);
    if (session.rooms.has(name)) throw new ReplyError('bad_request', `already in room ${name}`);
    if (session.rooms.size >= options.maxRoomsPerConnection) {
      throw new ReplyError(
        'forbidden',
        `at most ${options.maxRoomsPerConnection} rooms per connection`,
      );
    }
    const bans = this.parts.moderation.banVersion;
    await this.admit(session, name);
    if (session.closed) return;
    const room = hub.join(session, name, command.budget ?? options.renderBudget);
    try {
      // A ban set while the checks ran found the session not yet in the room: check it again.
      if (this.parts.moderation.banVersion !== bans) {
        await this.parts.moderation.checkJoin(session.userId, name);
      }
      await this.subscribed.get(name);
      const limit = Math.min(command.history ?? 0, options.maxHistory);
      const history = await viaBroker(() =>
        this.parts.broker.history({ room: name, since: command.since, limit }),
      );
      if (!room.joining.has(session)) {
        // Taken out meanwhile: a disconnect or resync (closed, nothing to say) or a removal,
        // which sent its `left` line; the join's own id is answered too.
        if (session.closed) return;
        throw new ReplyError('forbidden', `removed from ${name} while joining`);
      }
      const visible = visibleTo(session, history.lines);
      const ring =
        visible.length > options.maxHistory && !history.recovered
          ? visible.slice(-options.maxHistory)
          : visible;
      // Stored rooms page back beyond the ring (`before`, or more `history` than it holds).
      const lines = await withStoredHistory(options.archive, command, history, ring);
      if (!room.joining.has(session)) {
        // Taken out meanwhile: a disconnect or resync (closed, nothing to say) or a removal,
        // which sent its `left` line; the join's own id is answered too.
        if (session.closed) return;
        throw new ReplyError('forbidden', `removed from ${name} while joining`);
      }
      const online = room.localCount + this.parts.presence.remoteCount(name);
      const reply = joinedLine(id, {
        room: name,
        online,
        offset: history.offset,
        epoch: history.epoch,
        recovered: history.recovered,
        messages: lines,
      });
      session.send(reply, false, Date.now());
      hub.completeJoin(room, session, history.offset);
    } catch (err) {
      if (room.joining.has(session)) hub.leave(session, name);
      throw err;
    }
  }

  /** A client's own leave; throws `not_found` when it is not in the room. */
  leave(session: Session, name: string): void {
    if (!this.parts.hub.leave(session, name)) {
      throw new ReplyError('not_found', `not in room ${name}`);
    }
  }

  /**
   * Takes a session out of a room on the server's decision and tells it with a `left` line
   * (see docs/protocol.md). Returns false when it was not in the room.
   */
  remove(session: Session, name: string, reason: LeftReason): boolean {
    if (!this.parts.hub.leave(session, name)) return false;
    session.send(leftLine(name, reason), false, Date.now());
    return true;
  }

  /** Takes every connection of a user here out of a room, or out of every room (`null`). */
  removeUser(userId: string, name: string | null, reason: LeftReason): void {
    for (const session of [...(this.parts.hub.users.get(userId) ?? [])]) {
      const rooms = name === null ? [...session.rooms] : [name];
      for (const room of rooms) this.remove(session, room, reason);
    }
  }
}

/** A refusal meaning "cannot tell now" (the broker is unreachable), not "no". */
function isUnavailable(err: unknown): boolean {
  return err instanceof ReplyError && err.code === 'unavailable';
}

/**
 * History as a session may see it: a shadow-banned comment only by its author (unmarked), so
 * the author finds it where it was, and others find its offset skipped.
 */
function visibleTo(session: Session, lines: Buffer[]): Buffer[] {
  if (!lines.some(isShadowLine)) return lines;
  const self = session.userId === null ? null : JSON.stringify(session.userId);
  const out: Buffer[] = [];
  for (const line of lines) {
    if (!isShadowLine(line)) out.push(line);
    else if (self !== null && lineSender(line) === self) out.push(unshadowLine(line));
  }
  return out;
}
