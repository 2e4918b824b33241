import type { Broker } from '../broker/types.js';
import type { Hub } from '../hub/index.js';
import type { Logger } from '../log.js';
import {
  CLOSE,
  type ClientCommand,
  type ErrorCode,
  errorLine,
  type JoinCommand,
  joinedLine,
  type Priority,
  type PublishCommand,
  parseCommand,
  priorityLevel,
  type RequestId,
  replyLine,
  splitLines,
} from '../protocol/index.js';
import type { Identity, Session } from '../session/index.js';
import { ReplyError } from './errors.js';
import type { ConnectionInfo } from './hooks.js';
import type { Moderation } from './moderation.js';
import type { NodeOptions } from './options.js';
import { enforce, roomAllowed } from './permissions.js';
import type { PresenceTracker } from './presence.js';

/** What the command handlers use of the engine. */
export interface CommandContext {
  readonly hub: Hub;
  readonly broker: Broker;
  readonly options: NodeOptions;
  readonly presence: PresenceTracker;
  readonly moderation: Moderation;
  readonly log: Logger;
  readonly subscriptions: Map<string, Promise<void>>;
  readonly counters: { errors: Record<string, number> };
  authenticate(token: string, connection: ConnectionInfo): Promise<Identity | null>;
  publish(
    room: string,
    data: unknown,
    connection: ConnectionInfo | null,
    priority: Priority,
    t?: number,
  ): Promise<{ offset: number }>;
  brokerCall<T>(call: () => Promise<T>): Promise<T>;
  roomEmptied(name: string): void;
  quietly(promise: Promise<unknown>): void;
  info(session: Session): ConnectionInfo;
}

/**
 * The client commands of one node: each line of a frame parsed, rate limited, and run in order
 * per connection (a join sent right after an auth sees its identity), with typed error replies.
 */
export class ClientCommands {
  private readonly inboxes = new Map<Session, Promise<void>>();

  constructor(private readonly ctx: CommandContext) {}

  /** Handles one text frame from a client: each line is a command, answered in order. */
  handleFrame(session: Session, text: string): void {
    const now = Date.now();
    session.lastHeardAt = now;
    for (const line of splitLines(text)) {
      // Parsed before the rate check, so a refusal can carry the request's id.
      const parsed = parseCommand(line, this.ctx.options.parseLimits);
      if (!session.commandBucket.take(now)) {
        this.replyError(
          session,
          parsed.ok ? parsed.command.id : parsed.id,
          'rate_limited',
          'too many commands',
        );
      } else if (!parsed.ok) this.replyError(session, parsed.id, parsed.code, parsed.message);
      else this.enqueue(session, parsed.command);
    }
  }

  /** Forgets a closed connection's pending commands. */
  forget(session: Session): void {
    this.inboxes.delete(session);
  }

  enqueue(session: Session, command: ClientCommand): void {
    const previous = this.inboxes.get(session);
    const run = previous
      ? previous.then(() => this.execute(session, command))
      : this.execute(session, command);
    if (!run) return;
    const tail = run.then(
      () => {},
      (err) => this.failed(session, command.id, err),
    );
    this.inboxes.set(session, tail);
    void tail.then(() => {
      if (this.inboxes.get(session) === tail) this.inboxes.delete(session);
    });
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
          this.leave(session, command.room, command.id);
          return undefined;
        case 'auth':
          return this.auth(session, command.token, command.events, command.id);
        case 'join':
          return this.join(session, command);
        case 'publish':
          return this.clientPublish(session, command);
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
    const identity = await this.ctx.authenticate(token, this.ctx.info(session));
    if (!identity) {
      this.replyError(session, id, 'unauthorized', 'invalid token');
      session.closeWith(CLOSE.unauthorized);
      return;
    }
    this.attachIdentity(session, identity, events);
    this.reply(session, replyLine('ok', id, { userId: identity.userId }));
  }

  attachIdentity(session: Session, identity: Identity, events: string[] | undefined): void {
    const current = session.identity;
    if (current && current.userId !== identity.userId) {
      throw new ReplyError('bad_request', 'connection is already authenticated as another user');
    }
    session.identity = identity;
    if (events !== undefined) session.events = new Set(events);
    if (current === null && this.ctx.hub.addUser(session))
      this.ctx.quietly(this.ctx.broker.subscribeUser(identity.userId));
  }

  private async join(session: Session, command: JoinCommand): Promise<void> {
    const { room: name, id } = command;
    if (this.ctx.options.authTimeoutMs !== null && session.identity === null) {
      throw new ReplyError('unauthorized', 'authenticate before joining');
    }
    if (session.rooms.has(name)) throw new ReplyError('bad_request', `already in room ${name}`);
    if (session.rooms.size >= this.ctx.options.maxRoomsPerConnection) {
      throw new ReplyError(
        'forbidden',
        `at most ${this.ctx.options.maxRoomsPerConnection} rooms per connection`,
      );
    }
    if (!roomAllowed(session.identity?.joinRooms, name)) {
      throw new ReplyError('forbidden', `not allowed to join ${name}`);
    }
    await this.ctx.moderation.checkJoin(session.userId, name);
    await enforce(this.ctx.options.hooks.authorizeJoin, this.ctx.info(session), name, 'join');
    if (session.closed) return;
    session.rooms.add(name);
    const { room, created } = this.ctx.hub.room(name);
    this.ctx.hub.beginJoin(room, session, command.budget ?? this.ctx.options.renderBudget);
    try {
      if (created)
        this.ctx.subscriptions.set(
          name,
          this.ctx.brokerCall(() => this.ctx.broker.subscribeRoom(name)),
        );
      await this.ctx.subscriptions.get(name);
      const limit = Math.min(command.history ?? 0, this.ctx.options.maxHistory);
      const history = await this.ctx.brokerCall(() =>
        this.ctx.broker.history({ room: name, since: command.since, limit }),
      );
      if (!room.joining.has(session)) return; // left or disconnected meanwhile
      const online = room.localCount + this.ctx.presence.remoteCount(name);
      const lines =
        history.lines.length > this.ctx.options.maxHistory && !history.recovered
          ? history.lines.slice(-this.ctx.options.maxHistory)
          : history.lines;
      this.reply(
        session,
        joinedLine(id, {
          room: name,
          online,
          offset: history.offset,
          epoch: history.epoch,
          recovered: history.recovered,
          messages: lines,
        }),
      );
      this.ctx.hub.completeJoin(room, session, history.offset);
    } catch (err) {
      if (session.rooms.delete(name) && this.ctx.hub.leave(name, session))
        this.ctx.roomEmptied(name);
      throw err;
    }
  }

  private leave(session: Session, name: string, id: RequestId | undefined): void {
    if (!session.rooms.delete(name)) throw new ReplyError('not_found', `not in room ${name}`);
    if (this.ctx.hub.leave(name, session)) this.ctx.roomEmptied(name);
    this.reply(session, replyLine('ok', id));
  }

  private async clientPublish(session: Session, command: PublishCommand): Promise<void> {
    if (!session.publishBucket.take(Date.now())) {
      throw new ReplyError('rate_limited', 'publishing too fast');
    }
    const identity = session.identity;
    if (identity === null && !this.ctx.options.allowAnonymousPublish) {
      throw new ReplyError('unauthorized', 'authenticate to publish');
    }
    if (!roomAllowed(identity?.publishRooms, command.room)) {
      throw new ReplyError('forbidden', `not allowed to publish to ${command.room}`);
    }
    const info = this.ctx.info(session);
    await enforce(this.ctx.options.hooks.authorizePublish, info, command.room, 'publish to');
    const priority = command.priority ?? 'normal';
    if (priorityLevel(priority) > priorityLevel(identity?.maxPriority ?? 'normal')) {
      throw new ReplyError('forbidden', `not allowed to publish with priority ${priority}`);
    }
    const data = this.ctx.moderation.filter(command.data);
    const verdict = await this.ctx.moderation.checkPublish(session.userId, command.room);
    if (verdict === 'shadow') {
      const offset = this.ctx.moderation.echo(session, command.room, data, priority);
      this.reply(session, replyLine('ok', command.id, { offset }));
      return;
    }
    const { offset } = await this.ctx.publish(command.room, data, info, priority, command.t);
    if (session.rooms.has(command.room)) this.ctx.hub.markOwn(command.room, offset, session);
    this.reply(session, replyLine('ok', command.id, { offset }));
  }

  failed(session: Session, id: RequestId | undefined, err: unknown): void {
    if (err instanceof ReplyError) {
      this.replyError(session, id, err.code, err.message, err.retryAfterMs);
      return;
    }
    this.ctx.log.error({ err: (err as Error)?.message, connId: session.id }, 'command failed');
    this.replyError(session, id, 'unavailable', 'internal error');
  }

  reply(session: Session, line: Buffer): void {
    session.send(line, false, Date.now());
  }

  replyError(
    session: Session,
    id: RequestId | undefined,
    code: ErrorCode,
    message: string,
    retryAfterMs?: number,
  ): void {
    this.ctx.counters.errors[code] = (this.ctx.counters.errors[code] ?? 0) + 1;
    const line =
      retryAfterMs === undefined
        ? errorLine(id, code, message)
        : replyLine('error', id, { code, message, retryAfterMs });
    this.reply(session, line);
  }
}
