import type { PublishResult } from '../broker/types.js';
import type { Hub } from '../hub/index.js';
import type { Logger } from '../log.js';
import {
  type AckCommand,
  CLOSE,
  type ClientCommand,
  type ErrorCode,
  errorLine,
  type InboxCommand,
  type Priority,
  type PublishCommand,
  parseCommand,
  priorityLevel,
  publishedLine,
  type RequestId,
  replyLine,
  splitLines,
} from '../protocol/index.js';
import { type Identity, type Session, TokenRefused } from '../session/index.js';
import type { Alerts } from './alerts.js';
import { ReplyError } from './errors.js';
import type { ConnectionInfo } from './hooks.js';
import { inboxFields } from './inbox-json.js';
import type { RoomMembership } from './membership.js';
import type { Moderation } from './moderation.js';
import type { NodeOptions } from './options.js';
import { enforce, roomAllowed, sessionInfo } from './permissions.js';

/** What client commands run on: the engine's parts and its public operations. */
export interface CommandEngine {
  readonly hub: Hub;
  readonly options: NodeOptions;
  readonly membership: RoomMembership;
  readonly moderation: Moderation;
  readonly log: Logger;
  readonly alerts: Alerts;
  readonly counters: { errors: Record<string, number> };
  authenticate(token: string, connection: ConnectionInfo): Promise<Identity | null>;
  identify(session: Session, identity: Identity, events: string[] | undefined): void;
  publish(
    room: string,
    data: unknown,
    connection: ConnectionInfo | null,
    priority: Priority,
    options: { shadow?: boolean; t?: number },
  ): Promise<PublishResult>;
  publishNow(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): PublishResult | null;
  storesAtOnce(room: string): boolean;
  publishStored(
    room: string,
    data: unknown,
    from: string | null,
    priority: Priority,
    t: number | undefined,
  ): Promise<PublishResult>;
}

/**
 * A connection's commands still running: the settled step of the last one, and whether that one
 * is a stored publish already holding its place in the store's queue (then a next stored publish
 * may start at once: see `enqueue`).
 */
interface Inbox {
  tail: Promise<void>;
  storing: boolean;
}

/**
 * The client commands of one node: each line of a frame parsed, rate limited, and run in order
 * per connection (a join sent right after an auth sees its identity), with typed error replies.
 */
export class ClientCommands {
  private readonly inboxes = new Map<Session, Inbox>();

  constructor(private readonly ctx: CommandEngine) {}

  /** Handles one text frame from a client: each line is a command, answered in order. */
  handleFrame(session: Session, text: string): void {
    const now = Date.now();
    session.lastHeardAt = now;
    for (const line of splitLines(text)) {
      // Parsed before the rate check, so a refusal can carry the request's id.
      const parsed = parseCommand(line, this.ctx.options.parseLimits);
      if (!session.takeCommand(now)) {
        this.replyError(
          session,
          parsed.ok ? parsed.command.id : parsed.id,
          'rate_limited',
          'too many commands',
          session.commandWaitMs(now),
        );
      } else if (!parsed.ok) this.replyError(session, parsed.id, parsed.code, parsed.message);
      else this.enqueue(session, parsed.command);
    }
  }

  /** Forgets a closed connection's pending commands. */
  forget(session: Session): void {
    this.inboxes.delete(session);
  }

  /**
   * Runs a command after the connection's previous one, or, for a publish into a stored room
   * right behind another (or behind nothing), at once: it takes its offset and its place in the
   * store's queue now, so a connection's comments share a commit instead of waiting one commit
   * each, and its reply still comes after the previous command's (docs/protocol.md, ordering).
   */
  private enqueue(session: Session, command: ClientCommand): void {
    const previous = this.inboxes.get(session);
    if (
      command.type === 'publish' &&
      (previous === undefined || previous.storing) &&
      this.storesAtOnce(session, command)
    ) {
      this.track(session, command, this.storeNow(session, command, previous?.tail), true);
      return;
    }
    const run = previous
      ? previous.tail.then(() => this.execute(session, command))
      : this.execute(session, command);
    if (run) this.track(session, command, run, false);
  }

  /** Keeps a running command as the connection's last; its failure is answered in order. */
  private track(
    session: Session,
    command: ClientCommand,
    run: Promise<void>,
    storing: boolean,
  ): void {
    // One settled step per command (a publish into a stored room waits here for its commit).
    const settled = () => {
      if (this.inboxes.get(session) === inbox) this.inboxes.delete(session);
    };
    const tail: Promise<void> = run.then(settled, (err) => {
      this.failed(session, command.id, err);
      settled();
    });
    const inbox: Inbox = { tail, storing };
    this.inboxes.set(session, inbox);
  }

  /** Whether a publish can start at once in a stored room (Publishing.publishStored). */
  private storesAtOnce(session: Session, command: PublishCommand): boolean {
    return (
      this.ctx.options.hooks.authorizePublish === undefined &&
      this.ctx.storesAtOnce(command.room) &&
      this.ctx.moderation.clearsAtOnce(session.userId, command.room)
    );
  }

  /**
   * A publish into a stored room, started now; settles once committed and `after` (the
   * previous command's step, which never rejects) settled, so replies keep their order.
   */
  private storeNow(
    session: Session,
    command: PublishCommand,
    after: Promise<void> | undefined,
  ): Promise<void> {
    if (session.closed) return after ?? Promise.resolve();
    let committed: Promise<PublishResult>;
    try {
      committed = this.publishStored(session, command);
    } catch (err) {
      committed = Promise.reject(err);
    }
    const ordered =
      after === undefined
        ? committed
        : committed.then(
            (result) => after.then(() => result),
            (err: unknown) =>
              after.then(() => {
                throw err;
              }),
          );
    return ordered.then((result) => this.published(session, command, result.offset));
  }

  /** The checks, then Publishing.publishStored; throws ReplyError when refused. */
  private publishStored(session: Session, command: PublishCommand): Promise<PublishResult> {
    this.checkPublisher(session, command);
    const priority = publishPriority(session, command);
    const data = this.ctx.moderation.filter(command.data);
    return this.ctx.publishStored(command.room, data, session.userId, priority, command.t);
  }

  /** Runs a command; synchronous ones return undefined so they cost no promise. */
  private execute(session: Session, command: ClientCommand): Promise<void> | undefined {
    if (session.closed) return undefined;
    try {
      switch (command.type) {
        case 'ping':
          this.reply(session, replyLine('pong', command.id));
          return undefined;
        case 'pong':
          return undefined;
        case 'leave':
          this.ctx.membership.leave(session, command.room);
          this.reply(session, replyLine('ok', command.id));
          return undefined;
        case 'auth':
          return this.auth(session, command.token, command.events, command.id);
        case 'join':
          return this.ctx.membership.join(session, command);
        case 'publish':
          return this.clientPublish(session, command);
        case 'ack':
          return this.ack(session, command);
        case 'inbox':
          return this.inbox(session, command);
      }
    } catch (err) {
      this.failed(session, command.id, err);
    }
    return undefined;
  }

  private async auth(
    session: Session,
    token: string,
    events: string[] | undefined,
    id: RequestId | undefined,
  ): Promise<void> {
    let identity: Identity | null;
    try {
      identity = await this.ctx.authenticate(token, sessionInfo(session));
    } catch (err) {
      if (!(err instanceof TokenRefused)) throw err;
      this.replyError(session, id, 'unauthorized', err.message);
      session.closeWith(CLOSE.unauthorized, closeReason(err.message));
      return;
    }
    if (!identity) {
      this.replyError(session, id, 'unauthorized', 'invalid token');
      session.closeWith(CLOSE.unauthorized);
      return;
    }
    const again = session.identity !== null;
    this.ctx.identify(session, identity, events);
    // A narrower token takes effect at once: rooms it no longer allows are left (issue 11).
    if (again) await this.ctx.membership.recheck(session);
    this.reply(session, replyLine('ok', id, { userId: identity.userId }));
    // A connection's first authentication gets its user's unread alerts (issue 13).
    if (!again) void this.ctx.alerts.redeliver(session);
  }

  private async ack(session: Session, command: AckCommand): Promise<void> {
    const { acked, unknown } = await this.ctx.alerts.ack(session, command.alerts);
    if (command.id === undefined) return;
    const fields = unknown.length > 0 ? { acked, unknown } : { acked };
    this.reply(session, replyLine('ok', command.id, fields));
  }

  private async inbox(session: Session, command: InboxCommand): Promise<void> {
    const userId = session.userId;
    if (userId === null) throw new ReplyError('unauthorized', 'authenticate to read your inbox');
    const page = await this.ctx.alerts.inbox(userId, command.unread, command.limit);
    const id = command.id === undefined ? '' : `"id":${JSON.stringify(command.id)},`;
    this.reply(session, Buffer.from(`{"type":"inbox",${id}${inboxFields(userId, page)}}`));
  }

  /**
   * A client publish: the checks, then the publish. When nothing in it waits (no hook, no
   * moderation rule to read, a broker that publishes at once; see Node.publishNow) it runs to
   * its reply synchronously and costs no promise; otherwise the same steps are awaited.
   */
  private clientPublish(session: Session, command: PublishCommand): Promise<void> | undefined {
    if (this.storesAtOnce(session, command)) {
      return this.publishStored(session, command).then((result) =>
        this.published(session, command, result.offset),
      );
    }
    this.checkPublisher(session, command);
    if (this.ctx.options.hooks.authorizePublish !== undefined)
      return this.publishLater(session, command);
    const priority = publishPriority(session, command);
    const data = this.ctx.moderation.filter(command.data);
    const from = session.userId;
    const result = this.ctx.moderation.clearsAtOnce(from, command.room)
      ? this.ctx.publishNow(command.room, data, from, priority, command.t)
      : null;
    if (result === null)
      return this.publishChecked(session, command, sessionInfo(session), data, priority);
    this.published(session, command, result.offset);
    return undefined;
  }

  /** The checks of a publisher that need nothing read: its rate, its identity, the room. */
  private checkPublisher(session: Session, command: PublishCommand): void {
    const now = Date.now();
    if (!session.takePublish(now)) {
      throw new ReplyError('rate_limited', 'publishing too fast', session.publishWaitMs(now));
    }
    const identity = session.identity;
    if (identity === null && !this.ctx.options.allowAnonymousPublish) {
      throw new ReplyError('unauthorized', 'authenticate to publish');
    }
    if (!roomAllowed(identity?.publishRooms, command.room)) {
      throw new ReplyError('forbidden', `not allowed to publish to ${command.room}`);
    }
  }

  /** A publish with the authorizePublish hook: the hook first, then the rest. */
  private async publishLater(session: Session, command: PublishCommand): Promise<void> {
    const info = sessionInfo(session);
    await enforce(this.ctx.options.hooks.authorizePublish, info, command.room, 'publish to');
    const priority = publishPriority(session, command);
    const data = this.ctx.moderation.filter(command.data);
    await this.publishChecked(session, command, info, data, priority);
  }

  private async publishChecked(
    session: Session,
    command: PublishCommand,
    info: ConnectionInfo,
    data: unknown,
    priority: Priority,
  ): Promise<void> {
    const verdict = await this.ctx.moderation.checkPublish(session.userId, command.room);
    const shadow = verdict === 'shadow';
    const { offset } = await this.ctx.publish(command.room, data, info, priority, {
      shadow,
      t: command.t,
    });
    this.published(session, command, offset);
  }

  private published(session: Session, command: PublishCommand, offset: number): void {
    if (session.rooms.has(command.room)) this.ctx.hub.markOwn(command.room, offset, session);
    this.reply(session, publishedLine(command.id, offset));
  }

  private failed(session: Session, id: RequestId | undefined, err: unknown): void {
    if (err instanceof ReplyError) {
      this.replyError(session, id, err.code, err.message, err.retryAfterMs);
      return;
    }
    this.ctx.log.error({ err: (err as Error)?.message, connId: session.id }, 'command failed');
    this.replyError(session, id, 'unavailable', 'internal error');
  }

  private reply(session: Session, line: Buffer): void {
    session.reply(line, Date.now());
  }

  private replyError(
    session: Session,
    id: RequestId | undefined,
    code: ErrorCode,
    message: string,
    retryAfterMs?: number,
  ): void {
    this.ctx.counters.errors[code] = (this.ctx.counters.errors[code] ?? 0) + 1;
    this.reply(session, errorLine(id, code, message, retryAfterMs));
  }
}

/** The priority a client publishes with, refused when its token does not allow it. */
function publishPriority(session: Session, command: PublishCommand): Priority {
  const priority = command.priority ?? 'normal';
  // `system` is the operator's voice (never sampled or dropped): only the HTTP API and the
  // library send it, whatever a token's `priority` claim says (issue 11).
  if (priority === 'system') {
    throw new ReplyError('forbidden', 'system messages come only from the HTTP API');
  }
  if (priorityLevel(priority) > priorityLevel(session.identity?.maxPriority ?? 'normal')) {
    throw new ReplyError('forbidden', `not allowed to publish with priority ${priority}`);
  }
  return priority;
}

/** The refusal's reason as the close reason, when it fits a close frame (123 bytes). */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : CLOSE.unauthorized.reason;
}
