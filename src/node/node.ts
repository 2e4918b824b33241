import {
  type Broker,
  type BrokerHandler,
  BrokerUnavailableError,
  type PublishResult,
  type PushTarget,
} from '../broker/types.js';
import { Hub, type Room } from '../hub/index.js';
import { type Logger, silentLogger } from '../log.js';
import type { MetricsSink } from '../metrics/types.js';
import {
  CLOSE,
  type ClientCommand,
  type ErrorCode,
  errorLine,
  eventNameProblem,
  type JoinCommand,
  joinedLine,
  messageParts,
  type Priority,
  type PublishCommand,
  parseCommand,
  priorityLevel,
  pushLine,
  type RequestId,
  replyLine,
  roomNameProblem,
  splitLines,
  userIdProblem,
  welcomeLine,
} from '../protocol/index.js';
import { type Identity, Session, type Transport } from '../session/index.js';
import { ReplyError } from './errors.js';
import type { ConnectionInfo } from './hooks.js';
import { LatencySamples } from './latency.js';
import { sweepSessions } from './liveness.js';
import type { NodeOptions } from './options.js';
import { connectionInfo, enforce, roomAllowed } from './permissions.js';
import { PresenceTracker } from './presence.js';
import { type NodeStats, nodeStats, type RoomStat, roomStats, topRooms } from './stats.js';

/** Counters the node keeps itself; the metrics exporter reads them on scrape. */
export interface NodeCounters {
  connectionsTotal: number;
  messagesIn: number;
  pushes: number;
  errors: Record<string, number>;
  closes: Record<string, number>;
}

/**
 * The engine: handles each client command, wires the hub to the broker, applies permissions and
 * hooks. One delivery path for every publish: `publish` → broker → `onPublication` → hub.
 */
export class Node implements BrokerHandler {
  readonly hub: Hub;
  readonly counters: NodeCounters = {
    connectionsTotal: 0,
    messagesIn: 0,
    pushes: 0,
    errors: {},
    closes: {},
  };
  readonly fanoutLatency = new LatencySamples();
  readonly startedAt = Date.now();
  private readonly presence: PresenceTracker;
  private readonly subscriptions = new Map<string, Promise<void>>();
  private readonly inboxes = new Map<Session, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private nextConnId = 0;
  private stopping = false;

  constructor(
    readonly options: NodeOptions,
    readonly broker: Broker,
    private readonly log: Logger = silentLogger,
    private readonly metrics?: MetricsSink,
  ) {
    this.hub = new Hub({
      policyFor: options.policyFor,
      onFlush: (_room, messages, sessions, waitedMs) => {
        this.fanoutLatency.record(waitedMs);
        this.metrics?.fanout(waitedMs, messages, sessions);
      },
    });
    this.presence = new PresenceTracker(this.hub, broker, log);
  }

  /** Starts the broker delivery, the heartbeat sweep and the presence ticks. */
  async start(): Promise<void> {
    await this.broker.start(this);
    const { heartbeatMs, authTimeoutMs, presenceIntervalMs } = this.options;
    const sweepMs = Math.max(20, Math.min(1000, heartbeatMs / 4, (authTimeoutMs ?? 4000) / 4));
    this.every(sweepMs, () => {
      sweepSessions(this.hub.sessions, Date.now(), heartbeatMs, authTimeoutMs);
    });
    this.every(presenceIntervalMs, () => void this.presence.tick());
  }

  /** Accepts a connection: a session, its `welcome`, and its identity if the upgrade had a token. */
  connect(transport: Transport, ip: string, identity: Identity | null): Session {
    const now = Date.now();
    const id = `${this.options.nodeId}-${(this.nextConnId++).toString(36)}`;
    const session = new Session(id, ip, transport, this.options, now);
    this.hub.addSession(session);
    this.counters.connectionsTotal++;
    if (identity) this.attachIdentity(session, identity, undefined);
    session.send(welcomeLine(id, this.options.heartbeatMs, session.userId), false, now);
    return session;
  }

  /** Forgets a closed connection and unsubscribes what it alone held here. */
  disconnect(session: Session, code: number): void {
    this.inboxes.delete(session);
    session.closed = true;
    const { emptiedRooms, lastOfUser } = this.hub.removeSession(session);
    for (const room of emptiedRooms) this.roomEmptied(room);
    if (lastOfUser && session.userId !== null)
      this.quietly(this.broker.unsubscribeUser(session.userId));
    const finalCode = session.closeCode || code;
    this.counters.closes[finalCode] = (this.counters.closes[finalCode] ?? 0) + 1;
    try {
      this.options.hooks.onDisconnect?.(this.info(session), finalCode);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'onDisconnect hook threw');
    }
  }

  /** Counts a close of a connection that never became a session (e.g. turned away for load). */
  countClose(code: number): void {
    this.counters.closes[code] = (this.counters.closes[code] ?? 0) + 1;
  }

  /** Handles one text frame from a client: each line is a command, answered in order. */
  handleFrame(session: Session, text: string): void {
    const now = Date.now();
    session.lastHeardAt = now;
    for (const line of splitLines(text)) {
      if (!session.commandBucket.take(now)) {
        this.replyError(session, undefined, 'rate_limited', 'too many commands');
        continue;
      }
      const parsed = parseCommand(line, this.options.parseLimits);
      if (!parsed.ok) this.replyError(session, parsed.id, parsed.code, parsed.message);
      else this.enqueue(session, parsed.command);
    }
  }

  /** Turns a token into an identity through the configured hook; null when refused. */
  async authenticate(token: string, connection: ConnectionInfo): Promise<Identity | null> {
    const hook = this.options.hooks.authenticate;
    if (!hook) return null;
    const identity = await hook(token, connection);
    if (identity && userIdProblem(identity.userId)) return null;
    return identity ?? null;
  }

  /**
   * Publishes into a room (client or API): the publish hook, one JSON encoding, then the broker
   * assigns the offset and delivers. Rejects with ReplyError.
   */
  async publish(
    room: string,
    data: unknown,
    connection: ConnectionInfo | null,
    priority: Priority = 'normal',
  ): Promise<PublishResult> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    let payload = data;
    const hook = this.options.hooks.onPublish;
    if (hook) {
      const decision = await hook({ room, data, connection });
      if (decision && 'reject' in decision) {
        throw new ReplyError(decision.reject.code, decision.reject.message);
      }
      if (decision && 'data' in decision) payload = decision.data;
    }
    const json = JSON.stringify(payload);
    if (json === undefined) throw new ReplyError('bad_request', '"data" must be a JSON value');
    const ts = Date.now();
    const from = connection?.identity?.userId ?? null;
    const result = await this.brokerCall(() =>
      this.broker.publish({ room, parts: messageParts(room, json, ts, from, priority), ts }),
    );
    this.counters.messagesIn++;
    return result;
  }

  /** Pushes to every connection of a user, cluster-wide; resolves with connections reached. */
  async push(userId: string, event: string, data: unknown): Promise<number> {
    const problem = userIdProblem(userId) ?? eventNameProblem(event);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.sendPush({ kind: 'user', userId }, event, data);
  }

  /** Pushes to every connection that takes the event, cluster-wide. */
  async broadcast(event: string, data: unknown): Promise<number> {
    const problem = eventNameProblem(event);
    if (problem) throw new ReplyError('bad_request', problem);
    return this.sendPush({ kind: 'all' }, event, data);
  }

  /** A room's online count (cluster-wide), offset and epoch. */
  async roomInfo(
    room: string,
  ): Promise<{ room: string; online: number; offset: number; epoch: string }> {
    const problem = roomNameProblem(room);
    if (problem) throw new ReplyError('bad_request', problem);
    const history = await this.brokerCall(() => this.broker.history({ room }));
    const remote = await this.brokerCall(() => this.broker.remoteOnline([room]));
    const local = this.hub.rooms.get(room)?.localCount ?? 0;
    return {
      room,
      online: local + (remote.get(room) ?? 0),
      offset: history.offset,
      epoch: history.epoch,
    };
  }

  /** A snapshot of this node's counters. */
  stats(): NodeStats {
    return nodeStats(this);
  }

  /** This node's busiest rooms by members or by message rate. */
  topRooms(sort: 'members' | 'rate', limit: number): RoomStat[] {
    return topRooms(roomStats(this.hub), sort, limit);
  }

  /**
   * Stops the timers, flushes pending batches and closes every client with 1001, in batches. Each
   * client is told a random wait up to `reconnectSpreadMs` (`retryAfterMs=` in the close reason),
   * so a restart does not come back as one reconnect storm.
   */
  async shutdown(reconnectSpreadMs = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.hub.flushAll();
    const sessions = [...this.hub.sessions];
    for (let i = 0; i < sessions.length; i += 500) {
      for (const session of sessions.slice(i, i + 500)) {
        const wait = Math.round(Math.random() * reconnectSpreadMs);
        session.closeWith(CLOSE.shuttingDown, `${CLOSE.shuttingDown.reason}; retryAfterMs=${wait}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  // BrokerHandler: what the broker delivers into this node.

  onPublication(room: string, offset: number, line: Buffer): void {
    this.hub.deliver(room, offset, line);
  }

  onPush(target: PushTarget, event: string, line: Buffer): number {
    return target.kind === 'all'
      ? this.hub.broadcast(event, line)
      : this.hub.pushToUser(target.userId, event, line);
  }

  onResync(name: string): void {
    const room = this.hub.rooms.get(name);
    if (!room) return;
    this.log.warn({ room: name }, 'room stream lost continuity: members re-sync');
    room.lastOffset = 0;
    for (const session of [...room.members, ...room.joining.keys()])
      session.closeWith(CLOSE.resync);
  }

  // Commands.

  private enqueue(session: Session, command: ClientCommand): void {
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
    const identity = await this.authenticate(token, this.info(session));
    if (!identity) {
      this.replyError(session, id, 'unauthorized', 'invalid token');
      session.closeWith(CLOSE.unauthorized);
      return;
    }
    this.attachIdentity(session, identity, events);
    this.reply(session, replyLine('ok', id, { userId: identity.userId }));
  }

  private attachIdentity(session: Session, identity: Identity, events: string[] | undefined): void {
    const current = session.identity;
    if (current && current.userId !== identity.userId) {
      throw new ReplyError('bad_request', 'connection is already authenticated as another user');
    }
    session.identity = identity;
    if (events !== undefined) session.events = new Set(events);
    if (current === null && this.hub.addUser(session))
      this.quietly(this.broker.subscribeUser(identity.userId));
  }

  private async join(session: Session, command: JoinCommand): Promise<void> {
    const { room: name, id } = command;
    if (this.options.authTimeoutMs !== null && session.identity === null) {
      throw new ReplyError('unauthorized', 'authenticate before joining');
    }
    if (session.rooms.has(name)) throw new ReplyError('bad_request', `already in room ${name}`);
    if (session.rooms.size >= this.options.maxRoomsPerConnection) {
      throw new ReplyError(
        'forbidden',
        `at most ${this.options.maxRoomsPerConnection} rooms per connection`,
      );
    }
    if (!roomAllowed(session.identity?.joinRooms, name)) {
      throw new ReplyError('forbidden', `not allowed to join ${name}`);
    }
    await enforce(this.options.hooks.authorizeJoin, this.info(session), name, 'join');
    if (session.closed) return;
    session.rooms.add(name);
    const { room, created } = this.hub.room(name);
    this.hub.beginJoin(room, session, command.budget ?? this.options.renderBudget);
    try {
      if (created)
        this.subscriptions.set(
          name,
          this.brokerCall(() => this.broker.subscribeRoom(name)),
        );
      await this.subscriptions.get(name);
      const limit = Math.min(command.history ?? 0, this.options.maxHistory);
      const history = await this.brokerCall(() =>
        this.broker.history({ room: name, since: command.since, limit }),
      );
      if (!room.joining.has(session)) return; // left or disconnected meanwhile
      const online = room.localCount + this.presence.remoteCount(name);
      const lines =
        history.lines.length > this.options.maxHistory && !history.recovered
          ? history.lines.slice(-this.options.maxHistory)
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
      this.hub.completeJoin(room, session, history.offset);
    } catch (err) {
      if (session.rooms.delete(name) && this.hub.leave(name, session)) this.roomEmptied(name);
      throw err;
    }
  }

  private leave(session: Session, name: string, id: RequestId | undefined): void {
    if (!session.rooms.delete(name)) throw new ReplyError('not_found', `not in room ${name}`);
    if (this.hub.leave(name, session)) this.roomEmptied(name);
    this.reply(session, replyLine('ok', id));
  }

  private async clientPublish(session: Session, command: PublishCommand): Promise<void> {
    if (!session.publishBucket.take(Date.now())) {
      throw new ReplyError('rate_limited', 'publishing too fast');
    }
    const identity = session.identity;
    if (identity === null && !this.options.allowAnonymousPublish) {
      throw new ReplyError('unauthorized', 'authenticate to publish');
    }
    if (!roomAllowed(identity?.publishRooms, command.room)) {
      throw new ReplyError('forbidden', `not allowed to publish to ${command.room}`);
    }
    const info = this.info(session);
    await enforce(this.options.hooks.authorizePublish, info, command.room, 'publish to');
    const priority = command.priority ?? 'normal';
    if (priorityLevel(priority) > priorityLevel(identity?.maxPriority ?? 'normal')) {
      throw new ReplyError('forbidden', `not allowed to publish with priority ${priority}`);
    }
    const { offset } = await this.publish(command.room, command.data, info, priority);
    if (session.rooms.has(command.room)) this.hub.markOwn(command.room, offset, session);
    this.reply(session, replyLine('ok', command.id, { offset }));
  }

  private async sendPush(target: PushTarget, event: string, data: unknown): Promise<number> {
    const json = JSON.stringify(data ?? null);
    const delivered = await this.brokerCall(() =>
      this.broker.push(target, event, pushLine(event, json, Date.now())),
    );
    this.counters.pushes++;
    return delivered;
  }

  private roomEmptied(name: string): void {
    this.subscriptions.delete(name);
    this.quietly(this.broker.unsubscribeRoom(name));
  }

  private failed(session: Session, id: RequestId | undefined, err: unknown): void {
    if (err instanceof ReplyError) {
      this.replyError(session, id, err.code, err.message);
      return;
    }
    this.log.error({ err: (err as Error)?.message, connId: session.id }, 'command failed');
    this.replyError(session, id, 'unavailable', 'internal error');
  }

  private reply(session: Session, line: Buffer): void {
    session.send(line, false, Date.now());
  }

  private replyError(
    session: Session,
    id: RequestId | undefined,
    code: ErrorCode,
    message: string,
  ): void {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    this.reply(session, errorLine(id, code, message));
  }

  /** Runs a broker call, turning its unavailability into the contract's `unavailable`. */
  private async brokerCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof BrokerUnavailableError) throw new ReplyError('unavailable', err.message);
      throw err;
    }
  }

  private quietly(promise: Promise<unknown>): void {
    promise.catch((err: Error) =>
      this.log.warn({ err: err.message }, 'broker subscription change failed'),
    );
  }

  private info(session: Session): ConnectionInfo {
    return connectionInfo(session.id, session.ip, session.identity);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

export type { Room };
